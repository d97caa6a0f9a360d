//! The IPRED notice to the subscriber (URL 53 h §), in Swedish: a small model that says what was
//! disclosed, to whom, when, under which law and in which case, and how to reach the operator;
//! rendered as plain text and as a printable HTML page (a PDF comes from the same model).
//!
//! Pure rendering, like the rest of `report`: the legal service decides what goes in (the
//! address valid on the day the letter is made, or for a protected identity Skatteverket's
//! forwarding, with no name and no address of the person); the renderers show all of it,
//! escaped, and add only fixed text.

use serde::Serialize;

use super::escape;

/// Where the letter goes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Recipient {
    /// The subscriber's postal address, as the identity register holds it on the day the
    /// letter is made.
    Address {
        name: String,
        street: String,
        postal_code: String,
        city: String,
        /// The register had no row valid that day: the last one it holds.
        last_known: bool,
    },
    /// A protected identity: the sealed letter carries only the personal identity number and
    /// goes inside an outer envelope to Skatteverket, which forwards it. No name, no address.
    Forwarded {
        personal_number: String,
        forward_to: Vec<String>,
    },
}

/// The head of a letter set as PDF: the sender, the address block in the envelope's window,
/// for a protected identity how the sealed letter is forwarded, and the date (the IPRED
/// notice's and the access letter's).
pub(super) fn head(
    d: &mut super::pdf::Document,
    operator: &str,
    operator_address: &[String],
    recipient: &Recipient,
    date: &str,
) {
    use super::pdf::{Block, Text};
    let sender: Vec<&str> = std::iter::once(operator)
        .chain(operator_address.iter().map(String::as_str))
        .collect();
    d.push(Block::Small(Text::plain(sender.join("\n"))))
        .push(Block::Space(28.0))
        .push(Block::Paragraph(Text::plain(
            recipient.address_lines().join("\n"),
        )));
    if let Recipient::Forwarded { forward_to, .. } = recipient {
        d.push(Block::Notice(Text::plain(format!(
            "Förseglat kuvert med personnumret ovan och avsändarens adress på baksidan, i ett \
             ytterkuvert till:\n{}",
            forward_to.join("\n")
        ))));
    }
    d.push(Block::Space(20.0))
        .push(Block::Paragraph(Text::plain(date.to_string())));
}

impl Recipient {
    /// The address block: what goes in the envelope's window (the IPRED notice's and the
    /// access letter's).
    pub fn address_lines(&self) -> Vec<String> {
        match self {
            Recipient::Address {
                name,
                street,
                postal_code,
                city,
                ..
            } => vec![
                name.clone(),
                street.clone(),
                format!("{postal_code} {city}").trim().to_string(),
            ],
            Recipient::Forwarded {
                personal_number, ..
            } => vec![format!("Personnummer: {personal_number}")],
        }
    }
}

/// What the letter says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Letter {
    /// The operator, e.g. "Junet AB".
    pub operator: String,
    /// The operator's postal address (lines; may be empty).
    pub operator_address: Vec<String>,
    /// How to reach the operator (may be empty).
    pub contact: String,
    /// The day the letter is made (YYYY-MM-DD, Stockholm).
    pub date: String,
    pub recipient: Recipient,
    /// What was asked about: the IP address, the port when the order named one, and the time
    /// (Stockholm local time, as text).
    pub address: String,
    pub port: Option<u16>,
    pub at: String,
    /// The fields given out, in Swedish ("namn", "postadress", …).
    pub disclosed: Vec<String>,
    /// The day of the disclosure (YYYY-MM-DD, Stockholm).
    pub disclosed_on: String,
    /// The court that ordered it, and its case number.
    pub court: String,
    pub court_case: String,
    /// The operator's own reference: case id and item.
    pub reference: String,
    /// Made after the window closed.
    pub late: bool,
}

const LAW_ORDER: &str = "53 c § upphovsrättslagen (1960:729)";
const LAW_NOTICE: &str = "53 h § upphovsrättslagen (1960:729)";

impl Letter {
    /// The address block: what goes in the envelope's window.
    pub fn address_lines(&self) -> Vec<String> {
        self.recipient.address_lines()
    }

    fn subject(&self) -> String {
        format!(
            "Underrättelse om utlämnade uppgifter enligt {LAW_NOTICE} (vår referens {})",
            self.reference
        )
    }

    fn what(&self) -> String {
        let port = self
            .port
            .map(|p| format!(" och port {p}"))
            .unwrap_or_default();
        format!("IP-adressen {}{port} den {}", self.address, self.at)
    }

    /// The body as paragraphs (plain text; each renderer escapes it for its format).
    pub fn paragraphs(&self) -> Vec<String> {
        let fields = match self.disclosed.as_slice() {
            [] => "uppgifter".to_string(),
            [one] => one.clone(),
            [init @ .., last] => format!("{} och {last}", init.join(", ")),
        };
        let mut p = vec![
            format!(
                "Vi är skyldiga att enligt {LAW_NOTICE} skriftligen underrätta dig om att vi har \
                 lämnat ut uppgifter om dig. {} har genom ett beslut om informationsföreläggande \
                 enligt {LAW_ORDER} i mål {} förelagt oss att lämna ut uppgifter om vem som var \
                 registrerad som användare av {}.",
                self.court,
                self.court_case,
                self.what()
            ),
            format!(
                "Den {} lämnade vi därför ut följande uppgifter om dig som abonnent: {fields}. \
                 Uppgifterna lämnades till sökanden i målet, enligt domstolens beslut.",
                self.disclosed_on
            ),
            "Vi lämnade inte ut några andra uppgifter, och vi har inte tagit ställning till om \
             något intrång har skett. Frågor om själva målet besvaras av domstolen; ange målets \
             nummer."
                .to_string(),
            match self.contact.is_empty() {
                true => format!(
                    "Har du frågor om den här underrättelsen är du välkommen att kontakta {} och \
                     ange vår referens {}.",
                    self.operator, self.reference
                ),
                false => format!(
                    "Har du frågor om den här underrättelsen är du välkommen att kontakta {}: {}. \
                     Ange vår referens {}.",
                    self.operator, self.contact, self.reference
                ),
            },
        ];
        if let Recipient::Address {
            last_known: true, ..
        } = &self.recipient
        {
            p.push(
                "Brevet skickas till den senaste adress vi har registrerad för dig.".to_string(),
            );
        }
        p
    }

    /// Plain text, for printing on letterhead or checking before it is sent.
    pub fn text(&self) -> String {
        let mut out = String::new();
        out.push_str(&self.operator);
        out.push('\n');
        for l in &self.operator_address {
            out.push_str(l);
            out.push('\n');
        }
        out.push('\n');
        for l in self.address_lines() {
            out.push_str(&l);
            out.push('\n');
        }
        if let Recipient::Forwarded { forward_to, .. } = &self.recipient {
            out.push_str(
                "\n(Förseglat kuvert med personnumret ovan och avsändarens adress på \
                          baksidan, i ett ytterkuvert till:)\n",
            );
            for l in forward_to {
                out.push_str(l);
                out.push('\n');
            }
        }
        out.push_str(&format!("\n{}\n\n{}\n", self.date, self.subject()));
        for p in self.paragraphs() {
            out.push('\n');
            out.push_str(&p);
            out.push('\n');
        }
        out.push_str(&format!("\nMed vänliga hälsningar\n{}\n", self.operator));
        out
    }

    /// The letter as PDF/A-2b (the same layer as the court report), dated `made_at`.
    pub fn pdf(&self, made_at: i64) -> Vec<u8> {
        use super::pdf::{Block, Document, Text};
        let mut d = Document::new(self.subject(), self.operator.clone(), made_at);
        d.subject = self.subject();
        d.footer = format!("{} · {}", self.operator, self.reference);
        head(
            &mut d,
            &self.operator,
            &self.operator_address,
            &self.recipient,
            &self.date,
        );
        d.push(Block::Heading(self.subject()));
        for p in self.paragraphs() {
            d.push(Block::Paragraph(Text::plain(p)));
        }
        d.push(Block::Paragraph(Text::plain(format!(
            "Med vänliga hälsningar\n{}",
            self.operator
        ))));
        d.to_pdf()
    }

    /// A printable HTML page (self-contained: no scripts, no external resources).
    pub fn html(&self) -> String {
        let mut out =
            String::from("<!DOCTYPE html>\n<html lang=\"sv\">\n<head>\n<meta charset=\"utf-8\">\n");
        out.push_str(&format!("<title>{}</title>\n", escape(&self.subject())));
        out.push_str(
            "<style>body{font-family:serif;max-width:40em;margin:2em auto;line-height:1.4}\
             .to{margin:3em 0 2em}.date{text-align:right}</style>\n</head>\n<body>\n",
        );
        out.push_str("<p class=\"from\">");
        let from: Vec<String> = std::iter::once(&self.operator)
            .chain(&self.operator_address)
            .map(|l| escape(l))
            .collect();
        out.push_str(&from.join("<br>"));
        out.push_str("</p>\n<p class=\"to\" id=\"recipient\">");
        let to: Vec<String> = self.address_lines().iter().map(|l| escape(l)).collect();
        out.push_str(&to.join("<br>"));
        out.push_str("</p>\n");
        if let Recipient::Forwarded { forward_to, .. } = &self.recipient {
            out.push_str(
                "<p class=\"forward\" id=\"forward\">Förseglat kuvert med personnumret ovan och \
                 avsändarens adress på baksidan, i ett ytterkuvert till:<br>",
            );
            let lines: Vec<String> = forward_to.iter().map(|l| escape(l)).collect();
            out.push_str(&lines.join("<br>"));
            out.push_str("</p>\n");
        }
        out.push_str(&format!(
            "<p class=\"date\">{}</p>\n<h1>{}</h1>\n",
            escape(&self.date),
            escape(&self.subject())
        ));
        for p in self.paragraphs() {
            out.push_str(&format!("<p>{}</p>\n", escape(&p)));
        }
        out.push_str(&format!(
            "<p>Med vänliga hälsningar<br>{}</p>\n</body>\n</html>\n",
            escape(&self.operator)
        ));
        out
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn letter(recipient: Recipient) -> Letter {
        Letter {
            operator: "Junet AB".into(),
            operator_address: vec!["Box 1".into(), "111 11 Stockholm".into()],
            contact: "kundservice@example.se".into(),
            date: "2027-01-10".into(),
            recipient,
            address: "192.0.2.10".into(),
            port: Some(40000),
            at: "2026-11-20 11:15:00 CET (+01:00)".into(),
            disclosed: vec!["namn".into(), "postadress".into()],
            disclosed_on: "2026-11-21".into(),
            court: "Patent- och marknadsdomstolen".into(),
            court_case: "PMÄ 1234-26".into(),
            reference: "C-2026-0001/1".into(),
            late: false,
        }
    }

    #[test]
    fn the_letter_says_what_to_whom_when_and_under_which_law() {
        let l = letter(Recipient::Address {
            name: "Åsa <Öberg>".into(),
            street: "Storgatan 1".into(),
            postal_code: "114 55".into(),
            city: "Stockholm".into(),
            last_known: false,
        });
        let text = l.text();
        for needle in [
            "Åsa <Öberg>\nStorgatan 1\n114 55 Stockholm\n",
            "53 h § upphovsrättslagen (1960:729)",
            "53 c § upphovsrättslagen (1960:729)",
            "Patent- och marknadsdomstolen",
            "PMÄ 1234-26",
            "IP-adressen 192.0.2.10 och port 40000 den 2026-11-20 11:15:00 CET (+01:00)",
            "Den 2026-11-21 lämnade vi",
            "namn och postadress",
            "kontakta Junet AB: kundservice@example.se",
            "C-2026-0001/1",
        ] {
            assert!(text.contains(needle), "{needle:?} missing from\n{text}");
        }
        let html = l.html();
        assert!(html.contains("Åsa &lt;Öberg&gt;<br>Storgatan 1"), "{html}");
        assert!(!html.contains("<Öberg>"));
        assert!(!html.contains("<script"));
    }

    #[test]
    fn a_forwarded_letter_shows_no_name_and_no_address_of_the_person() {
        let l = letter(Recipient::Forwarded {
            personal_number: "19800101-1234".into(),
            forward_to: vec![
                "Skatteverket".into(),
                "Box 2820".into(),
                "403 20 Göteborg".into(),
            ],
        });
        let text = l.text();
        assert!(text.contains("Personnummer: 19800101-1234\n"), "{text}");
        assert!(
            text.contains("Skatteverket\nBox 2820\n403 20 Göteborg\n"),
            "{text}"
        );
        assert!(l.html().contains("id=\"forward\""));
    }
}
