//! `[legal.notice]` (the IPRED notice to the subscriber: its window, the operator's contact
//! line, Skatteverket's forwarding address for protected identities) and
//! `[[legal.compensation]]` (the rates of the compensation ledger). Validated with the rest of
//! the file, every problem named at once; nothing here knows cases or letters.

use super::Period;

/// The Swedish Tax Agency's forwarding of mail to people with protected personal data
/// (*skyddade personuppgifter*: sekretessmarkering, skyddad folkbokföring): the sender puts the
/// letter in a sealed envelope marked with the recipient's personal identity number and its own
/// address on the back, and sends that inside an outer envelope to this address
/// (skatteverket.se, "Sending mail to someone with protected identity").
pub const SKATTEVERKET_FORWARDING: [&str; 3] = ["Skatteverket", "Box 2820", "403 20 Göteborg"];

/// `[legal.notice]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoticeSettings {
    /// `earliest`: how long after the disclosure the notice may be sent at the earliest
    /// (URL 53 h §: one month).
    pub earliest: Period,
    /// `latest`: how long after the disclosure it must have been sent (URL 53 h §: three
    /// months).
    pub latest: Period,
    /// `forwarding_address`: where a letter to a protected identity goes (lines).
    pub forwarding_address: Vec<String>,
    /// `sender_address`: the operator's postal address (lines), printed on the letter and, for
    /// the forwarding, on the back of the inner envelope. Empty: not printed.
    pub sender_address: Vec<String>,
    /// `contact`: how the subscriber reaches the operator about the letter (a phone number, an
    /// e-mail address). Empty: the letter names the operator only.
    pub contact: String,
}

impl Default for NoticeSettings {
    fn default() -> Self {
        NoticeSettings {
            earliest: Period::Months(1),
            latest: Period::Months(3),
            forwarding_address: SKATTEVERKET_FORWARDING.map(String::from).to_vec(),
            sender_address: Vec::new(),
            contact: String::new(),
        }
    }
}

/// Who pays a disclosure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Payer {
    /// The authority that asked (law enforcement: LEK 2022:482 9 kap. 29 a §, PTS's rates).
    Authority,
    /// The applicant of an IPRED order, at the operator's own rate.
    RightsHolder,
}

impl Payer {
    pub fn as_str(self) -> &'static str {
        match self {
            Payer::Authority => "authority",
            Payer::RightsHolder => "rights_holder",
        }
    }

    pub fn parse(s: &str) -> Option<Payer> {
        match s {
            "authority" => Some(Payer::Authority),
            "rights_holder" => Some(Payer::RightsHolder),
            _ => None,
        }
    }
}

/// The disclosure categories the ledger charges (one entry per disclosure and category).
pub const CATEGORIES: [&str; 3] = ["subscriber", "address_window", "call_records"];

/// One `[[legal.compensation]]` row: what one disclosure of `category` costs `payer`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rate {
    pub category: String,
    pub payer: Payer,
    /// In öre (1/100 SEK).
    pub amount_ore: i64,
}

/// `"125"`, `"125.5"`, `"125.50"` SEK (or a TOML number) in öre.
fn ore(v: &toml::Value) -> Option<i64> {
    let text = match v {
        toml::Value::String(s) => s.trim().to_string(),
        toml::Value::Integer(n) => n.to_string(),
        toml::Value::Float(f) => format!("{f:.2}"),
        _ => return None,
    };
    let (kr, frac) = text.split_once('.').unwrap_or((&text, ""));
    if kr.is_empty() || !kr.bytes().all(|b| b.is_ascii_digit()) || frac.len() > 2 {
        return None;
    }
    if !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let kr: i64 = kr.parse().ok()?;
    let frac: i64 = format!("{frac:0<2}").parse().ok()?;
    kr.checked_mul(100)?.checked_add(frac)
}

fn lines(v: &toml::Value) -> Option<Vec<String>> {
    let items = v.as_array()?;
    let out: Vec<String> = items
        .iter()
        .map(|i| i.as_str().map(|s| s.trim().to_string()))
        .collect::<Option<_>>()?;
    (out.len() <= 6 && out.iter().all(|l| !l.is_empty() && l.len() <= 200)).then_some(out)
}

/// Whether `earliest` ends before `latest` from every day of a leap and a common year (a
/// month is 28 to 31 days, so "30 days" against "1 month" depends on the day).
fn ordered(earliest: Period, latest: Period) -> bool {
    let start = chrono::NaiveDate::from_ymd_opt(2027, 1, 1).expect("literal");
    (0..730).all(|d| {
        let t = (start + chrono::Days::new(d))
            .and_hms_opt(12, 0, 0)
            .expect("noon")
            .and_utc()
            .timestamp();
        after(t, earliest) < after(t, latest)
    })
}

/// The instant `p` after `t` on the Stockholm calendar: months are calendar months (the 31st
/// plus one month is the last day of a shorter month), days are calendar days, and the time of
/// day is kept (one that a DST change skips moves on by the hour it skipped).
pub fn after(t: crate::model::UnixSecs, p: Period) -> crate::model::UnixSecs {
    use chrono::TimeZone;
    let tz = chrono_tz::Europe::Stockholm;
    let Some(local) = chrono::DateTime::from_timestamp(t, 0).map(|d| d.with_timezone(&tz)) else {
        return t;
    };
    let naive = local.naive_local();
    let moved = match p {
        Period::Months(m) => naive.checked_add_months(chrono::Months::new(m)),
        Period::Days(d) => naive.checked_add_days(chrono::Days::new(u64::from(d))),
    };
    let Some(moved) = moved else { return t };
    match tz.from_local_datetime(&moved) {
        chrono::LocalResult::Single(d) => d.timestamp(),
        chrono::LocalResult::Ambiguous(first, _) => first.timestamp(),
        chrono::LocalResult::None => tz
            .from_local_datetime(&(moved + chrono::Duration::hours(1)))
            .earliest()
            .map_or(t, |d| d.timestamp()),
    }
}

/// Reads `[legal.notice]` and `[[legal.compensation]]`, adding every problem to `errs`.
pub(super) fn parse(table: &toml::Table, errs: &mut Vec<String>) -> (NoticeSettings, Vec<Rate>) {
    let mut n = NoticeSettings::default();
    let mut rates = Vec::new();
    let legal = match table.get("legal") {
        Some(toml::Value::Table(t)) => t,
        _ => return (n, rates),
    };
    match legal.get("notice") {
        None => {}
        Some(toml::Value::Table(t)) => {
            for k in t.keys() {
                if ![
                    "earliest",
                    "latest",
                    "forwarding_address",
                    "sender_address",
                    "contact",
                ]
                .contains(&k.as_str())
                {
                    errs.push(format!("unknown key `legal.notice.{k}`"));
                }
            }
            for (key, slot) in [("earliest", &mut n.earliest), ("latest", &mut n.latest)] {
                if let Some(v) = t.get(key) {
                    match v.as_str().and_then(Period::parse) {
                        Some(p) => *slot = p,
                        None => errs.push(format!(
                            "`legal.notice.{key}` must be a period like \"1 month\" or \"30 days\""
                        )),
                    }
                }
            }
            if !ordered(n.earliest, n.latest) {
                errs.push(format!(
                    "`legal.notice.earliest` ({}) must end before `legal.notice.latest` ({})",
                    n.earliest, n.latest
                ));
            }
            for (key, slot, may_be_empty) in [
                ("forwarding_address", &mut n.forwarding_address, false),
                ("sender_address", &mut n.sender_address, true),
            ] {
                if let Some(v) = t.get(key) {
                    match lines(v) {
                        Some(l) if may_be_empty || !l.is_empty() => *slot = l,
                        _ => errs.push(format!(
                            "`legal.notice.{key}` must be a list of 1 to 6 address lines"
                        )),
                    }
                }
            }
            if let Some(v) = t.get("contact") {
                match v.as_str().map(str::trim) {
                    Some(s) if s.len() <= 200 && !s.contains(['\n', '\r']) => {
                        n.contact = s.to_string()
                    }
                    _ => errs.push("`legal.notice.contact` must be one line of text".into()),
                }
            }
        }
        Some(_) => errs.push("`legal.notice` must be a table ([legal.notice])".into()),
    }
    match legal.get("compensation") {
        None => {}
        Some(toml::Value::Array(rows)) => {
            for (i, row) in rows.iter().enumerate() {
                let at = format!("legal.compensation[{i}]");
                let Some(t) = row.as_table() else {
                    errs.push(format!("`{at}` must be a table ([[legal.compensation]])"));
                    continue;
                };
                for k in t.keys() {
                    if !["category", "payer", "amount_sek"].contains(&k.as_str()) {
                        errs.push(format!("unknown key `{at}.{k}`"));
                    }
                }
                let category = t.get("category").and_then(|v| v.as_str());
                if !category.is_some_and(|c| CATEGORIES.contains(&c)) {
                    errs.push(format!(
                        "`{at}.category` must be one of {}",
                        CATEGORIES.join(", ")
                    ));
                }
                let payer = t
                    .get("payer")
                    .and_then(|v| v.as_str())
                    .and_then(Payer::parse);
                if payer.is_none() {
                    errs.push(format!(
                        "`{at}.payer` must be \"authority\" or \"rights_holder\""
                    ));
                }
                let amount = t.get("amount_sek").and_then(ore);
                if amount.is_none() {
                    errs.push(format!(
                        "`{at}.amount_sek` must be an amount in SEK like \"125.00\" (at most two \
                         decimals, not negative)"
                    ));
                }
                if let (Some(c), Some(p), Some(a)) = (category, payer, amount) {
                    if rates.iter().any(|r: &Rate| r.category == c && r.payer == p) {
                        errs.push(format!("`{at}`: {c} for {} has a rate already", p.as_str()));
                    }
                    rates.push(Rate {
                        category: c.to_string(),
                        payer: p,
                        amount_ore: a,
                    });
                }
            }
        }
        Some(_) => errs
            .push("`legal.compensation` must be a list of tables ([[legal.compensation]])".into()),
    }
    (n, rates)
}

#[cfg(test)]
mod tests {
    use super::super::Config;
    use super::*;

    #[test]
    fn the_notice_window_and_the_rates_are_read() {
        let c = Config::parse(
            r#"
[legal.notice]
earliest = "5 weeks"
"#,
        )
        .unwrap_err();
        assert!(c.to_string().contains("legal.notice.earliest"), "{c}");
        let c = Config::parse(
            r#"
[legal]
case_max_days = 30
[legal.notice]
earliest = "30 days"
latest = "2 months"
contact = "kundservice@example.se, 08-123 45 67"
sender_address = ["Junet AB", "Box 1", "111 11 Stockholm"]
[[legal.compensation]]
category = "subscriber"
payer = "authority"
amount_sek = "125.5"
[[legal.compensation]]
category = "subscriber"
payer = "rights_holder"
amount_sek = 400
"#,
        )
        .unwrap();
        assert_eq!(c.notice.earliest, Period::Days(30));
        assert_eq!(c.notice.latest, Period::Months(2));
        assert_eq!(c.notice.forwarding_address, SKATTEVERKET_FORWARDING);
        assert_eq!(c.notice.sender_address.len(), 3);
        assert_eq!(c.compensation[0].amount_ore, 12_550);
        assert_eq!(c.compensation[1].amount_ore, 40_000);
        assert_eq!(c.compensation[1].payer, Payer::RightsHolder);
        assert_eq!(Config::default().notice.latest, Period::Months(3));
        assert!(Config::default().compensation.is_empty());
    }

    #[test]
    fn every_problem_of_the_notice_and_the_rates_is_named_at_once() {
        let e = Config::parse(
            r#"
[legal.notice]
earliest = "3 months"
latest = "1 month"
forwarding_address = []
colour = "red"
[[legal.compensation]]
category = "tower_dump"
payer = "police"
amount_sek = "12.345"
[[legal.compensation]]
category = "call_records"
payer = "authority"
amount_sek = "-5"
rebate = 1
[[legal.compensation]]
category = "subscriber"
payer = "authority"
amount_sek = "1"
[[legal.compensation]]
category = "subscriber"
payer = "authority"
amount_sek = "2"
"#,
        )
        .unwrap_err();
        let all = e.to_string();
        for needle in [
            "`legal.notice.earliest` (3 months) must end before",
            "legal.notice.forwarding_address",
            "unknown key `legal.notice.colour`",
            "legal.compensation[0].category",
            "legal.compensation[0].payer",
            "legal.compensation[0].amount_sek",
            "legal.compensation[1].amount_sek",
            "unknown key `legal.compensation[1].rebate`",
            "`legal.compensation[3]`: subscriber for authority has a rate already",
        ] {
            assert!(all.contains(needle), "missing {needle:?} in {all}");
        }
        assert_eq!(e.0.len(), 9, "{all}");
        // "1 month" against "30 days" depends on the day: refused.
        let e = Config::parse("[legal.notice]\nearliest = \"30 days\"\nlatest = \"1 month\"\n");
        assert!(e.is_err());
    }
}
