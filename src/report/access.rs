//! The answer to a data subject's access request (GDPR art. 15, *registerutdrag*), in Swedish:
//! a letter to the subscriber's registered address saying what the operator holds about them
//! (the identity rows, current and earlier, and the traffic data per retention class with the
//! day each leaves retention), why and on which legal basis, to whom it was disclosed, how long
//! it is kept, the subscriber's rights and how to complain to the supervisory authority.
//! Rendered as a printable HTML page (every binding) and as PDF/A-2b (the bindings' table
//! capped at [`PDF_MAX_BINDINGS`] rows, with how many more there are).
//!
//! Pure, like the rest of `report`: [`AccessLetter::from_extract`] reads the access extract the
//! legal service made (and audited); the renderers show what the model holds, escaped, and add
//! only fixed text. The recipients are what the service put in the extract (IPRED disclosures
//! only); the letter says nothing about any other disclosure, neither to deny nor to confirm.

use chrono_tz::Europe::Stockholm;
use serde::Serialize;
use serde_json::Value;

use super::letter::Recipient;
use super::{escape, parse_rfc3339, utc_datetime};

/// The most bindings the PDF lists; the HTML lists them all.
pub const PDF_MAX_BINDINGS: usize = 300;

/// The supervisory authority, where a data subject may complain (GDPR art. 77).
pub const IMY: [&str; 5] = [
    "Integritetsskyddsmyndigheten (IMY)",
    "Box 8114",
    "104 20 Stockholm",
    "imy@imy.se",
    "www.imy.se",
];

/// Who sends the letter: the operator's details from `serve.operator` and `[legal.notice]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Sender {
    /// The operator, e.g. "Junet AB".
    pub operator: String,
    /// Its postal address (lines; may be empty).
    pub address: Vec<String>,
    /// How to reach it (may be empty).
    pub contact: String,
    /// Where a letter to a protected identity goes (Skatteverket's forwarding).
    pub forwarding: Vec<String>,
}

/// One version of the subscriber's row in the identity register.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IdentityRow {
    /// A row of the register as it stands (else a version a later import replaced).
    pub current: bool,
    pub name: String,
    pub street: String,
    pub postal_code: String,
    pub city: String,
    pub customer_id: String,
    pub personal_number: String,
    /// RFC 3339.
    pub valid_from: String,
    /// RFC 3339; `None` while valid.
    pub valid_to: Option<String>,
    /// When a later import replaced this version (RFC 3339).
    pub replaced_at: Option<String>,
}

/// The traffic data of one retention class.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ClassRow {
    /// `security`, `billing` or `statutory`.
    pub class: String,
    pub count: u64,
    /// The first start and the last end (RFC 3339); `last` is `None` while a binding is open.
    pub first: Option<String>,
    pub last: Option<String>,
    /// The days (YYYY-MM-DD, Stockholm) the oldest and the newest binding leave retention.
    pub leaves_first: Option<String>,
    pub leaves_last: Option<String>,
    /// The purposes that may read the class (`abuse`, `ipred`, `law_enforcement`).
    pub purposes: Vec<String>,
    pub legal_basis: String,
    /// The configured period ("6 months", "90 days").
    pub retention: String,
}

/// One address (or prefix) the subscriber held.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BindingRow {
    pub target: String,
    /// RFC 3339.
    pub start: String,
    /// RFC 3339; `None` while open.
    pub end: Option<String>,
    pub class: String,
    /// The day it leaves retention (YYYY-MM-DD, Stockholm).
    pub leaves: Option<String>,
}

/// A disclosure of the subscriber's data to a third party (an IPRED rights holder).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Disclosure {
    /// The day it was disclosed (YYYY-MM-DD).
    pub date: String,
    /// To whom.
    pub recipient: String,
    /// On which decision (court and case number).
    pub basis: String,
    /// The operator's case.
    pub reference: String,
}

/// What the letter says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AccessLetter {
    pub sender: Sender,
    /// The day the letter is made (YYYY-MM-DD, Stockholm).
    pub date: String,
    /// The day the request was received (YYYY-MM-DD, Stockholm).
    pub received: Option<String>,
    /// The operator's case.
    pub reference: String,
    pub recipient: Recipient,
    /// The identifier the network logs carry for the subscription.
    pub subscriber: String,
    pub identity: Vec<IdentityRow>,
    pub classes: Vec<ClassRow>,
    pub bindings: Vec<BindingRow>,
    pub recipients: Vec<Disclosure>,
    /// Unix seconds: when it is made (the PDF's dates).
    pub made_at: i64,
}

fn text(v: &Value) -> String {
    v.as_str().unwrap_or_default().to_string()
}

fn opt_text(v: &Value) -> Option<String> {
    v.as_str().map(str::to_string)
}

fn rfc3339(t: i64) -> String {
    crate::model::fmt_time(t)
}

fn identity_row(v: &Value, current: bool, replaced_at: Option<i64>) -> (IdentityRow, bool, i64) {
    let from = v["valid_from"].as_i64().unwrap_or(0);
    let row = IdentityRow {
        current,
        name: text(&v["name"]),
        street: text(&v["street"]),
        postal_code: text(&v["postal_code"]),
        city: text(&v["city"]),
        customer_id: text(&v["customer_id"]),
        personal_number: text(&v["personal_number"]),
        valid_from: rfc3339(from),
        valid_to: v["valid_to"].as_i64().map(rfc3339),
        replaced_at: replaced_at.map(rfc3339),
    };
    (
        row,
        v["protected_identity"].as_bool().unwrap_or(false),
        from,
    )
}

impl AccessLetter {
    /// The letter of an access extract (`identity`, `bindings`, `classes`, `recipients` as
    /// the legal service writes them), made at `made_at`. It goes to the register's row valid
    /// that day (else the latest one that started before it, marked last known); a protected
    /// identity's through Skatteverket's forwarding. `None` when the register holds no row.
    pub fn from_extract(
        extract: &Value,
        sender: Sender,
        reference: &str,
        received: Option<String>,
        made_at: i64,
    ) -> Option<AccessLetter> {
        let current: Vec<&Value> = extract["identity"]["current"]
            .as_array()
            .map(|a| a.iter().collect())
            .unwrap_or_default();
        let from = |v: &Value| v["valid_from"].as_i64().unwrap_or(0);
        let valid =
            |v: &Value| from(v) <= made_at && v["valid_to"].as_i64().is_none_or(|t| made_at < t);
        let (row, last_known) = match current.iter().copied().find(|v| valid(v)) {
            Some(r) => (r, false),
            None => (
                current
                    .iter()
                    .copied()
                    .filter(|v| from(v) <= made_at)
                    .max_by_key(|v| from(v))
                    .or(current.iter().copied().max_by_key(|v| from(v)))?,
                true,
            ),
        };
        let recipient = if row["protected_identity"].as_bool().unwrap_or(false) {
            Recipient::Forwarded {
                personal_number: text(&row["personal_number"]),
                forward_to: sender.forwarding.clone(),
            }
        } else {
            Recipient::Address {
                name: text(&row["name"]),
                street: text(&row["street"]),
                postal_code: text(&row["postal_code"]),
                city: text(&row["city"]),
                last_known,
            }
        };
        let mut rows: Vec<(i64, i64, IdentityRow)> = current
            .iter()
            .map(|v| {
                let (r, _, from) = identity_row(v, true, None);
                (from, 0, r)
            })
            .collect();
        for s in extract["identity"]["superseded"]
            .as_array()
            .into_iter()
            .flatten()
        {
            let replaced = s["replaced_at"].as_i64().unwrap_or(0);
            let (r, _, from) = identity_row(&s["record"], false, Some(replaced));
            rows.push((from, replaced, r));
        }
        rows.sort_by_key(|r| (r.0, r.1));
        let classes = extract["classes"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|c| ClassRow {
                class: text(&c["class"]),
                count: c["count"].as_u64().unwrap_or(0),
                first: opt_text(&c["first"]),
                last: opt_text(&c["last"]),
                leaves_first: opt_text(&c["leaves_retention_first"]),
                leaves_last: opt_text(&c["leaves_retention_last"]),
                purposes: c["purposes"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(text)
                    .collect(),
                legal_basis: text(&c["legal_basis"]),
                retention: text(&c["retention"]),
            })
            .collect();
        let bindings = extract["bindings"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|b| BindingRow {
                target: text(&b["target"]),
                start: text(&b["start"]),
                end: opt_text(&b["end"]),
                class: text(&b["class"]),
                leaves: opt_text(&b["leaves_retention"]["date"]),
            })
            .collect();
        let recipients = extract["recipients"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|r| Disclosure {
                date: text(&r["date"]),
                recipient: text(&r["recipient"]),
                basis: text(&r["basis"]),
                reference: text(&r["case"]),
            })
            .collect();
        Some(AccessLetter {
            sender,
            date: crate::calendar::stockholm_day(made_at).to_string(),
            received,
            reference: reference.to_string(),
            recipient,
            subscriber: text(&extract["subscriber"]),
            identity: rows.into_iter().map(|r| r.2).collect(),
            classes,
            bindings,
            recipients,
            made_at,
        })
    }

    /// The address block: what goes in the envelope's window.
    pub fn address_lines(&self) -> Vec<String> {
        self.recipient.address_lines()
    }

    pub fn title(&self) -> String {
        format!(
            "Registerutdrag enligt artikel 15 i dataskyddsförordningen (vår referens {})",
            self.reference
        )
    }

    /// The opening paragraphs.
    pub fn intro(&self) -> Vec<String> {
        let received = self
            .received
            .as_ref()
            .map(|d| format!(" som vi tog emot den {d}"))
            .unwrap_or_default();
        let mut p = vec![
            format!(
                "Du har begärt att få veta vilka personuppgifter {} behandlar om dig. Här är \
                 vårt svar på din begäran{received}: de uppgifter vi har om dig den {}, varför \
                 vi har dem och med vilket rättsligt stöd, hur länge vi sparar dem, vilka vi har \
                 lämnat ut dem till och vilka rättigheter du har.",
                self.sender.operator, self.date
            ),
            "Utdraget är kostnadsfritt. Du har rätt att en gång om året få ett kostnadsfritt \
             registerutdrag (artikel 12.5 och 15.3 i dataskyddsförordningen, GDPR)."
                .to_string(),
            "Tider anges i svensk tid (Europe/Stockholm).".to_string(),
        ];
        if let Recipient::Address {
            last_known: true, ..
        } = &self.recipient
        {
            p.push("Brevet skickas till den senaste adress vi har registrerad för dig.".into());
        }
        p
    }

    /// The traffic data's summary line.
    fn traffic_intro(&self) -> String {
        match self.bindings.len() {
            0 => "Vi har inga trafikuppgifter om dig (uppgifter om vilken IP-adress ditt \
                  abonnemang har haft och när)."
                .to_string(),
            n => format!(
                "Trafikuppgifter är uppgifter om vilken IP-adress (eller vilket IPv6-prefix) \
                 ditt abonnemang har haft och när. Vi har {n} sådana {} om dig, fördelade på \
                 följande kategorier:",
                if n == 1 { "uppgift" } else { "uppgifter" }
            ),
        }
    }

    /// The recipients section's text when there are none.
    pub const NO_RECIPIENTS: &'static str =
        "Inga uppgifter om dig har lämnats ut till tredje part.";

    fn recipients_intro(&self) -> &'static str {
        "Vi har lämnat ut uppgifter om dig (namn och adress) till följande mottagare, efter \
         domstolens beslut om informationsföreläggande enligt 53 c § upphovsrättslagen \
         (1960:729):"
    }

    /// The rights, one paragraph each.
    pub fn rights(&self) -> Vec<String> {
        vec![
            "Rättelse (artikel 16): är någon uppgift om dig felaktig eller ofullständig har du \
             rätt att få den rättad eller kompletterad. Vi underrättar då de mottagare som har \
             fått uppgiften (artikel 19)."
                .into(),
            "Radering (artikel 17): du har rätt att få uppgifter raderade när de inte längre \
             behövs för det ändamål de samlades in för, eller när det inte finns något \
             rättsligt stöd för att behandla dem. Uppgifter som vi enligt lag måste lagra \
             raderas när lagringstiden har gått ut."
                .into(),
            "Begränsning (artikel 18): du har rätt att begära att behandlingen av dina \
             uppgifter begränsas, till exempel medan vi utreder om en uppgift är riktig eller \
             om en invändning ska godtas."
                .into(),
            "Invändning (artikel 21): du har rätt att invända mot behandling som vi grundar på \
             vårt berättigade intresse (artikel 6.1 f). Vi får då bara fortsätta om vi kan \
             visa tvingande berättigade skäl som väger tyngre än dina intressen."
                .into(),
            match self.sender.contact.is_empty() {
                true => format!(
                    "Vill du använda någon av dessa rättigheter, kontakta {} och ange vår \
                     referens {}.",
                    self.sender.operator, self.reference
                ),
                false => format!(
                    "Vill du använda någon av dessa rättigheter, kontakta {}: {}. Ange vår \
                     referens {}.",
                    self.sender.operator, self.sender.contact, self.reference
                ),
            },
        ]
    }

    /// How to complain.
    pub fn complaint(&self) -> String {
        format!(
            "Om du anser att vi behandlar dina personuppgifter felaktigt har du rätt att lämna \
             klagomål till tillsynsmyndigheten (artikel 77): {}, {}, {}, e-post {}, {}.",
            IMY[0], IMY[1], IMY[2], IMY[3], IMY[4]
        )
    }

    /// The retention period of each class held, as a sentence.
    fn retention_lines(&self) -> Vec<String> {
        self.classes
            .iter()
            .map(|c| {
                format!(
                    "{}: {} efter att uppgiften uppstod (räknat från när tilldelningen av \
                     adressen upphörde). Därefter raderas uppgiften.",
                    class_name(&c.class),
                    period_sv(&c.retention)
                )
            })
            .collect()
    }

    fn classes_table(&self) -> (Vec<&'static str>, Vec<Vec<String>>) {
        let header = vec![
            "Kategori",
            "Antal",
            "Period",
            "Lämnar lagringen",
            "Lagringstid",
        ];
        let rows = self
            .classes
            .iter()
            .map(|c| {
                vec![
                    class_name(&c.class).to_string(),
                    c.count.to_string(),
                    period_text(c.first.as_deref(), c.last.as_deref()),
                    day_span(c.leaves_first.as_deref(), c.leaves_last.as_deref()),
                    period_sv(&c.retention),
                ]
            })
            .collect();
        (header, rows)
    }

    fn purposes_table(&self) -> (Vec<&'static str>, Vec<Vec<String>>) {
        let header = vec!["Kategori", "Ändamål", "Rättslig grund"];
        let rows = self
            .classes
            .iter()
            .map(|c| {
                let purposes: Vec<&str> = c.purposes.iter().map(|p| purpose_sv(p)).collect();
                vec![
                    class_name(&c.class).to_string(),
                    purposes.join("; "),
                    c.legal_basis.clone(),
                ]
            })
            .collect();
        (header, rows)
    }

    fn identity_table(&self) -> (Vec<&'static str>, Vec<Vec<String>>) {
        let header = vec![
            "Version",
            "Giltig",
            "Namn",
            "Folkbokföringsadress",
            "Kundnummer",
            "Personnummer",
        ];
        let rows = self
            .identity
            .iter()
            .map(|r| {
                let version = match &r.replaced_at {
                    Some(t) => format!("tidigare (ersatt {})", local_day(t)),
                    None if r.current => "aktuell".to_string(),
                    None => "tidigare".to_string(),
                };
                vec![
                    version,
                    format!(
                        "{} – {}",
                        local_day(&r.valid_from),
                        r.valid_to.as_deref().map(local_day).unwrap_or_default()
                    ),
                    r.name.clone(),
                    format!("{}, {} {}", r.street, r.postal_code, r.city)
                        .trim()
                        .to_string(),
                    r.customer_id.clone(),
                    r.personal_number.clone(),
                ]
            })
            .collect();
        (header, rows)
    }

    fn bindings_header() -> Vec<&'static str> {
        vec![
            "IP-adress/prefix",
            "Från",
            "Till",
            "Kategori",
            "Lämnar lagringen",
        ]
    }

    fn binding_row(b: &BindingRow) -> Vec<String> {
        vec![
            b.target.clone(),
            local_time(&b.start),
            b.end
                .as_deref()
                .map(local_time)
                .unwrap_or_else(|| "pågår".to_string()),
            class_name(&b.class).to_string(),
            b.leaves.clone().unwrap_or_default(),
        ]
    }

    fn recipient_rows(&self) -> Vec<Vec<String>> {
        self.recipients
            .iter()
            .map(|r| {
                vec![
                    r.date.clone(),
                    r.recipient.clone(),
                    r.basis.clone(),
                    r.reference.clone(),
                ]
            })
            .collect()
    }

    /// A printable HTML page (self-contained: no scripts, no external resources), listing
    /// every binding.
    pub fn html(&self) -> String {
        let mut out =
            String::from("<!DOCTYPE html>\n<html lang=\"sv\">\n<head>\n<meta charset=\"utf-8\">\n");
        out.push_str(&format!("<title>{}</title>\n", escape(&self.title())));
        out.push_str(
            "<style>body{font-family:serif;max-width:52em;margin:2em auto;line-height:1.4}\
             .to{margin:3em 0 2em}.date{text-align:right}table{border-collapse:collapse;\
             margin:.5em 0 1em}th,td{border:1px solid #999;padding:.2em .4em;text-align:left;\
             vertical-align:top}</style>\n</head>\n<body>\n",
        );
        let lines = |ls: &[String]| {
            ls.iter()
                .map(|l| escape(l))
                .collect::<Vec<_>>()
                .join("<br>")
        };
        let from: Vec<String> = std::iter::once(self.sender.operator.clone())
            .chain(self.sender.address.iter().cloned())
            .collect();
        out.push_str(&format!("<p class=\"from\">{}</p>\n", lines(&from)));
        out.push_str(&format!(
            "<p class=\"to\" id=\"recipient\">{}</p>\n",
            lines(&self.address_lines())
        ));
        if let Recipient::Forwarded { forward_to, .. } = &self.recipient {
            out.push_str(&format!(
                "<p class=\"forward\" id=\"forward\">Förseglat kuvert med personnumret ovan och \
                 avsändarens adress på baksidan, i ett ytterkuvert till:<br>{}</p>\n",
                lines(forward_to)
            ));
        }
        out.push_str(&format!(
            "<p class=\"date\">{}</p>\n<h1>{}</h1>\n",
            escape(&self.date),
            escape(&self.title())
        ));
        for p in self.intro() {
            out.push_str(&format!("<p>{}</p>\n", escape(&p)));
        }
        let table = |out: &mut String, id: &str, header: &[&str], rows: &[Vec<String>]| {
            out.push_str(&format!("<table id=\"{id}\">\n<tr>"));
            for h in header {
                out.push_str(&format!("<th>{}</th>", escape(h)));
            }
            out.push_str("</tr>\n");
            for r in rows {
                out.push_str("<tr>");
                for c in r {
                    out.push_str(&format!("<td>{}</td>", escape(c)));
                }
                out.push_str("</tr>\n");
            }
            out.push_str("</table>\n");
        };
        out.push_str("<h2>Uppgifter om dig i vårt kundregister</h2>\n");
        out.push_str(&format!(
            "<p>Ditt abonnemang identifieras i våra nätloggar som <code>{}</code>. I vårt \
             kundregister har vi följande uppgifter om dig, den aktuella versionen och \
             tidigare versioner:</p>\n",
            escape(&self.subscriber)
        ));
        let (h, rows) = self.identity_table();
        table(&mut out, "identity", &h, &rows);
        out.push_str("<h2>Trafikuppgifter som vi lagrar om dig</h2>\n");
        out.push_str(&format!("<p>{}</p>\n", escape(&self.traffic_intro())));
        if !self.classes.is_empty() {
            let (h, rows) = self.classes_table();
            table(&mut out, "classes", &h, &rows);
        }
        if !self.bindings.is_empty() {
            out.push_str("<h3>Tilldelade IP-adresser</h3>\n");
            let rows: Vec<Vec<String>> = self.bindings.iter().map(Self::binding_row).collect();
            table(&mut out, "bindings", &Self::bindings_header(), &rows);
        }
        out.push_str("<h2>Ändamål och rättslig grund</h2>\n");
        if self.classes.is_empty() {
            out.push_str(
                "<p>Uppgifterna i kundregistret behandlar vi för att fullgöra avtalet med dig \
                 (GDPR art. 6.1 b).</p>\n",
            );
        } else {
            let (h, rows) = self.purposes_table();
            table(&mut out, "purposes", &h, &rows);
        }
        out.push_str("<h2>Mottagare</h2>\n");
        if self.recipients.is_empty() {
            out.push_str(&format!(
                "<p id=\"no-recipients\">{}</p>\n",
                escape(Self::NO_RECIPIENTS)
            ));
        } else {
            out.push_str(&format!("<p>{}</p>\n", escape(self.recipients_intro())));
            table(
                &mut out,
                "recipients",
                &["Datum", "Mottagare", "Beslut", "Vår referens"],
                &self.recipient_rows(),
            );
        }
        out.push_str("<h2>Lagringstider</h2>\n");
        for l in self.retention_lines() {
            out.push_str(&format!("<p>{}</p>\n", escape(&l)));
        }
        out.push_str("<h2>Dina rättigheter</h2>\n");
        for p in self.rights() {
            out.push_str(&format!("<p>{}</p>\n", escape(&p)));
        }
        out.push_str("<h2>Klagomål</h2>\n");
        out.push_str(&format!(
            "<p id=\"complaint\">{}</p>\n",
            escape(&self.complaint())
        ));
        out.push_str(&format!(
            "<p>Med vänliga hälsningar<br>{}</p>\n</body>\n</html>\n",
            escape(&self.sender.operator)
        ));
        out
    }

    /// The letter as PDF/A-2b; at most [`PDF_MAX_BINDINGS`] bindings are listed, followed by
    /// how many more there are.
    pub fn pdf(&self) -> Vec<u8> {
        use super::pdf::{Block, Document, Table, Text};
        let mut d = Document::new(self.title(), self.sender.operator.clone(), self.made_at);
        d.subject = "Registerutdrag (GDPR art. 15)".into();
        d.footer = format!("{} · {}", self.sender.operator, self.reference);
        let table = |widths: Vec<f32>, header: &[&str], rows: Vec<Vec<String>>| {
            Block::Table(Table {
                widths,
                header: Some(header.iter().map(|h| Text::plain(*h)).collect()),
                rows: rows
                    .into_iter()
                    .map(|r| r.into_iter().map(Text::plain).collect())
                    .collect(),
                label_column: false,
            })
        };
        super::letter::head(
            &mut d,
            &self.sender.operator,
            &self.sender.address,
            &self.recipient,
            &self.date,
        );
        d.push(Block::Title("Registerutdrag".into()))
            .push(Block::Paragraph(Text::bold(self.title())));
        for p in self.intro() {
            d.push(Block::Paragraph(Text::plain(p)));
        }
        d.push(Block::Heading(
            "Uppgifter om dig i vårt kundregister".into(),
        ));
        d.push(Block::Paragraph(
            Text::plain("Ditt abonnemang identifieras i våra nätloggar som ")
                .with_mono(self.subscriber.as_str())
                .with_plain(". I vårt kundregister har vi följande uppgifter om dig:"),
        ));
        let (h, rows) = self.identity_table();
        d.push(table(vec![1.3, 1.6, 1.6, 2.4, 1.1, 1.3], &h, rows));
        d.push(Block::Heading(
            "Trafikuppgifter som vi lagrar om dig".into(),
        ));
        d.push(Block::Paragraph(Text::plain(self.traffic_intro())));
        if !self.classes.is_empty() {
            let (h, rows) = self.classes_table();
            d.push(table(vec![2.4, 0.8, 2.6, 1.8, 1.2], &h, rows));
        }
        if !self.bindings.is_empty() {
            d.push(Block::Subheading("Tilldelade IP-adresser".into()));
            let rows: Vec<Vec<String>> = self
                .bindings
                .iter()
                .take(PDF_MAX_BINDINGS)
                .map(Self::binding_row)
                .collect();
            d.push(table(
                vec![2.2, 1.7, 1.7, 2.0, 1.3],
                &Self::bindings_header(),
                rows,
            ));
            let more = self.bindings.len().saturating_sub(PDF_MAX_BINDINGS);
            if more > 0 {
                d.push(Block::Small(Text::plain(format!(
                    "Ytterligare {more} tilldelningar visas inte här. Den fullständiga listan \
                     finns i utdragets HTML-version, som vi skickar på begäran."
                ))));
            }
        }
        d.push(Block::Heading("Ändamål och rättslig grund".into()));
        if self.classes.is_empty() {
            d.push(Block::Paragraph(Text::plain(
                "Uppgifterna i kundregistret behandlar vi för att fullgöra avtalet med dig \
                 (GDPR art. 6.1 b).",
            )));
        } else {
            let (h, rows) = self.purposes_table();
            d.push(table(vec![2.0, 3.6, 2.8], &h, rows));
        }
        d.push(Block::Heading("Mottagare".into()));
        if self.recipients.is_empty() {
            d.push(Block::Paragraph(Text::plain(Self::NO_RECIPIENTS)));
        } else {
            d.push(Block::Paragraph(Text::plain(self.recipients_intro())));
            d.push(table(
                vec![1.2, 2.6, 2.8, 1.6],
                &["Datum", "Mottagare", "Beslut", "Vår referens"],
                self.recipient_rows(),
            ));
        }
        d.push(Block::Heading("Lagringstider".into()));
        for l in self.retention_lines() {
            d.push(Block::Paragraph(Text::plain(l)));
        }
        d.push(Block::Heading("Dina rättigheter".into()));
        for p in self.rights() {
            d.push(Block::Paragraph(Text::plain(p)));
        }
        d.push(Block::Heading("Klagomål".into()));
        d.push(Block::Paragraph(Text::plain(self.complaint())));
        d.push(Block::Paragraph(Text::plain(IMY.join("\n"))));
        d.push(Block::Paragraph(Text::plain(format!(
            "Med vänliga hälsningar\n{}",
            self.sender.operator
        ))));
        d.to_pdf()
    }
}

/// A class's name in the letter.
pub fn class_name(class: &str) -> &str {
    match class {
        "security" => "Nätverks- och informationssäkerhet",
        "billing" => "Fakturering",
        "statutory" => "Lagstadgad lagring",
        other => other,
    }
}

/// What a purpose is, in the letter.
fn purpose_sv(purpose: &str) -> &str {
    match purpose {
        "abuse" => "utredning av missbruk och säkerhetsincidenter i vårt nät",
        "ipred" => {
            "utlämnande efter domstolens beslut om informationsföreläggande (53 c § \
             upphovsrättslagen)"
        }
        "law_enforcement" => "lagstadgad lagring; uppgifterna lämnas ut endast när lag kräver det",
        other => other,
    }
}

/// "6 months" → "6 månader", "90 days" → "90 dagar", "1 month" → "1 månad".
fn period_sv(p: &str) -> String {
    let mut it = p.split_whitespace();
    match (it.next(), it.next()) {
        (Some("1"), Some("month" | "months")) => "1 månad".into(),
        (Some("1"), Some("day" | "days")) => "1 dag".into(),
        (Some(n), Some("month" | "months")) => format!("{n} månader"),
        (Some(n), Some("day" | "days")) => format!("{n} dagar"),
        _ => p.to_string(),
    }
}

/// An RFC 3339 time as Stockholm local time, to the minute; anything else as given.
fn local_time(s: &str) -> String {
    parse_rfc3339(s)
        .and_then(utc_datetime)
        .map(|d| {
            d.with_timezone(&Stockholm)
                .format("%Y-%m-%d %H:%M")
                .to_string()
        })
        .unwrap_or_else(|| s.to_string())
}

/// An RFC 3339 time as its day in Stockholm.
fn local_day(s: &str) -> String {
    parse_rfc3339(s)
        .map(|t| crate::calendar::stockholm_day(t).to_string())
        .unwrap_or_else(|| s.to_string())
}

fn period_text(first: Option<&str>, last: Option<&str>) -> String {
    format!(
        "{} – {}",
        first.map(local_time).unwrap_or_default(),
        last.map(local_time).unwrap_or_else(|| "pågår".into())
    )
}

fn day_span(first: Option<&str>, last: Option<&str>) -> String {
    match (first, last) {
        (Some(a), Some(b)) if a == b => a.to_string(),
        (Some(a), Some(b)) => format!("{a} – {b}"),
        (Some(a), None) | (None, Some(a)) => a.to_string(),
        (None, None) => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn sender() -> Sender {
        Sender {
            operator: "Junet AB".into(),
            address: vec!["Box 1".into(), "111 11 Stockholm".into()],
            contact: "dataskydd@example.se".into(),
            forwarding: vec![
                "Skatteverket".into(),
                "Box 2820".into(),
                "403 20 Göteborg".into(),
            ],
        }
    }

    /// 2026-12-01T10:00:00Z.
    const MADE: i64 = 1_796_119_200;

    fn extract(n_bindings: usize, recipients: Value) -> Value {
        let bindings: Vec<Value> = (0..n_bindings)
            .map(|i| {
                json!({"target": format!("192.0.2.{}", i % 250), "start": "2026-11-20T10:00:00Z",
                       "end": "2026-11-20T11:00:00Z", "end_kind": "stop", "source": "bng",
                       "class": "security",
                       "leaves_retention": {"at": "2027-05-20T11:00:00Z", "date": "2027-05-20"}})
            })
            .chain(std::iter::once(json!({
                "target": "2001:db8:7::/56", "start": "2026-11-25T08:00:00Z", "end": null,
                "end_kind": null, "source": "dhcp6", "class": "billing",
                "leaves_retention": {"at": "2027-03-01T10:00:00Z", "date": "2027-03-01"}})))
            .collect();
        json!({
            "subscriber": "sub-1",
            "generated_at": "2026-12-01T09:00:00Z",
            "identity": {
                "current": [
                    {"subscriber": "sub-1", "customer_id": "C1", "name": "Åsa <Öberg>",
                     "street": "Nya vägen 9", "postal_code": "222 22", "city": "Lund",
                     "personal_number": "19800101-1234", "protected_identity": false,
                     "valid_from": 1_781_000_000, "valid_to": null},
                    {"subscriber": "sub-1", "customer_id": "C1", "name": "Åsa Öberg",
                     "street": "Gamla gatan 1", "postal_code": "111 11", "city": "Stockholm",
                     "personal_number": "19800101-1234", "protected_identity": false,
                     "valid_from": 1_767_225_600, "valid_to": 1_781_000_000}
                ],
                "superseded": [
                    {"record": {"subscriber": "sub-1", "customer_id": "C1", "name": "Asa Oberg",
                     "street": "Gamla gatan 1", "postal_code": "111 11", "city": "Stockholm",
                     "personal_number": "19800101-1234", "protected_identity": false,
                     "valid_from": 1_767_225_600, "valid_to": null},
                     "replaced_at": 1_770_000_000}
                ]
            },
            "bindings": bindings,
            "classes": [
                {"class": "security", "count": n_bindings, "first": "2026-11-20T10:00:00Z",
                 "last": "2026-11-20T11:00:00Z", "leaves_retention_first": "2027-05-20",
                 "leaves_retention_last": "2027-05-20", "purposes": ["abuse", "ipred", "law_enforcement"],
                 "legal_basis": "GDPR art. 6.1 f – nätverks- och informationssäkerhet",
                 "retention": "6 months"},
                {"class": "billing", "count": 1, "first": "2026-11-25T08:00:00Z",
                 "last": null, "leaves_retention_first": "2027-03-01",
                 "leaves_retention_last": "2027-03-01", "purposes": ["ipred", "law_enforcement"],
                 "legal_basis": "GDPR art. 6.1 b – fakturering (avtalet)",
                 "retention": "90 days"}
            ],
            "recipients": recipients,
        })
    }

    fn ipred_recipient() -> Value {
        json!([{"date": "2026-11-21", "recipient": "Rättighetshavaren AB",
                "basis": "Patent- och marknadsdomstolen, PMÄ 1234-26", "case": "C-2026-0002"}])
    }

    fn letter(n: usize, recipients: Value) -> AccessLetter {
        AccessLetter::from_extract(
            &extract(n, recipients),
            sender(),
            "C-2026-0007",
            Some("2026-11-25".into()),
            MADE,
        )
        .unwrap()
    }

    #[test]
    fn the_letter_goes_to_the_row_valid_today_and_lists_every_version() {
        let l = letter(2, ipred_recipient());
        assert_eq!(
            l.address_lines(),
            ["Åsa <Öberg>", "Nya vägen 9", "222 22 Lund"]
        );
        assert_eq!(l.date, "2026-12-01");
        assert_eq!(l.identity.len(), 3);
        assert_eq!(
            l.identity
                .iter()
                .filter(|r| r.replaced_at.is_some())
                .count(),
            1
        );
        // Before the move the row valid then is the one written to.
        let before = AccessLetter::from_extract(
            &extract(1, json!([])),
            sender(),
            "C-1",
            None,
            1_770_000_000,
        )
        .unwrap();
        assert_eq!(before.address_lines()[1], "Gamla gatan 1");
        // No row at all: no letter.
        assert!(AccessLetter::from_extract(&json!({}), sender(), "C-1", None, MADE).is_none());
    }

    #[test]
    fn the_html_has_the_swedish_headings_the_classes_the_dates_imy_and_the_recipients() {
        let html = letter(2, ipred_recipient()).html();
        for needle in [
            "<html lang=\"sv\">",
            "Registerutdrag enligt artikel 15 i dataskyddsförordningen",
            "Åsa &lt;Öberg&gt;<br>Nya vägen 9<br>222 22 Lund",
            "<h2>Uppgifter om dig i vårt kundregister</h2>",
            "<h2>Trafikuppgifter som vi lagrar om dig</h2>",
            "<h2>Ändamål och rättslig grund</h2>",
            "<h2>Mottagare</h2>",
            "<h2>Lagringstider</h2>",
            "<h2>Dina rättigheter</h2>",
            "<h2>Klagomål</h2>",
            // The class rows: name, count, period in Stockholm time, leaving day, period.
            "<td>Nätverks- och informationssäkerhet</td><td>2</td>\
             <td>2026-11-20 11:00 – 2026-11-20 12:00</td><td>2027-05-20</td><td>6 månader</td>",
            "<td>Fakturering</td><td>1</td><td>2026-11-25 09:00 – pågår</td>\
             <td>2027-03-01</td><td>90 dagar</td>",
            // A binding, open one included.
            "<td>2001:db8:7::/56</td><td>2026-11-25 09:00</td><td>pågår</td>",
            "GDPR art. 6.1 f – nätverks- och informationssäkerhet",
            "GDPR art. 6.1 b – fakturering (avtalet)",
            "Rättighetshavaren AB",
            "Patent- och marknadsdomstolen, PMÄ 1234-26",
            "C-2026-0002",
            "Integritetsskyddsmyndigheten (IMY), Box 8114, 104 20 Stockholm, e-post imy@imy.se, \
             www.imy.se",
            "artikel 12.5 och 15.3",
            "Rättelse (artikel 16)",
            "Radering (artikel 17)",
            "Begränsning (artikel 18)",
            "Invändning (artikel 21)",
            "tidigare (ersatt 2026-02-02)",
            "som vi tog emot den 2026-11-25",
            "dataskydd@example.se",
        ] {
            assert!(html.contains(needle), "{needle:?} missing from\n{html}");
        }
        assert!(!html.contains("<Öberg>"));
        assert!(!html.contains(AccessLetter::NO_RECIPIENTS));
        assert!(!html.contains("<script"));
    }

    #[test]
    fn without_recipients_the_letter_says_none_were_disclosed_and_names_no_authority() {
        let l = letter(1, json!([]));
        let html = l.html();
        assert!(
            html.contains(
                "<p id=\"no-recipients\">Inga uppgifter om dig har lämnats ut till \
                           tredje part.</p>"
            ),
            "{html}"
        );
        for word in ["Polis", "polis", "brottsbekämp", "Åklagar", "åklagar"] {
            assert!(!html.contains(word), "{word} in\n{html}");
        }
    }

    #[test]
    fn a_protected_identity_goes_through_the_forwarding_without_the_address_on_the_envelope() {
        let mut x = extract(1, json!([]));
        x["identity"]["current"][0]["protected_identity"] = json!(true);
        let l = AccessLetter::from_extract(&x, sender(), "C-1", None, MADE).unwrap();
        assert_eq!(l.address_lines(), ["Personnummer: 19800101-1234"]);
        assert!(l.html().contains("id=\"forward\""));
    }

    #[test]
    fn the_pdf_lists_at_most_its_cap_of_bindings_and_says_how_many_more() {
        let l = letter(PDF_MAX_BINDINGS + 4, ipred_recipient());
        let pdf = l.pdf();
        assert!(pdf.starts_with(b"%PDF-1.7"));
        // Each binding row is in the HTML; the PDF says what it leaves out (+1: the billing one).
        assert_eq!(
            l.html().matches("<td>2026-11-20 11:00</td>").count(),
            PDF_MAX_BINDINGS + 4
        );
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("utdrag.pdf");
        std::fs::write(&file, &pdf).unwrap();
        let out = std::process::Command::new("pdftotext")
            .arg(&file)
            .arg("-")
            .output()
            .expect("pdftotext (Debian package poppler-utils)");
        let text = String::from_utf8(out.stdout).unwrap();
        assert!(text.contains("Ytterligare 5 tilldelningar"), "{text}");
        assert!(text.contains("Registerutdrag"), "{text}");
    }

    #[test]
    fn periods_read_in_swedish() {
        assert_eq!(period_sv("6 months"), "6 månader");
        assert_eq!(period_sv("1 month"), "1 månad");
        assert_eq!(period_sv("183 days"), "183 dagar");
        assert_eq!(period_sv("odd"), "odd");
    }
}
