//! The report as ETSI TS 102 657-style "RetainedData" XML, for authorities that take
//! machine-readable answers. It follows the standard's outline (authorization reference, request
//! id, CSP id, GeneralizedTime stamps, response status, numbered response records) with tdr's own
//! element names for what the standard has no place for (attribution status, evidence, approvals,
//! audit sequence numbers); it is not validated against the ETSI schema.
//!
//! Every value in the [`Report`] appears; nothing else does. The output is deterministic
//! (2-space indentation, fixed element order), and all text goes through [`escape`].

use serde_json::Value;

use super::{
    escape, parse_rfc3339, scalar_text, utc_datetime, DisclosedIdentity, RecordStatus, Report,
    EVIDENCE_KEYS, VIA_KEYS,
};

const NAMESPACE: &str = "http://uri.etsi.org/02657/v1.18.1#/RetainedData";
/// The version of this document's layout.
const VERSION: &str = "tdr-report/1";
/// The XML rendering of `r`; `report_sha256` is the SHA-256 of [`super::json::render`]`(r)`.
pub fn render(r: &Report, report_sha256: &str) -> String {
    let mut x = Writer::default();
    x.out
        .push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    x.open_attr("retainedDataMessage", "xmlns", NAMESPACE);
    x.leaf("version", VERSION);
    x.leaf("lawfulAuthorizationReference", &r.case.case_number);
    x.leaf("requestID", &r.request_id);
    x.leaf("cSPID", &r.csp_id);
    x.leaf("timeStamp", &generalized_time(r.generated_at));
    authorization(&mut x, r);
    x.open("responseStatus");
    x.empty(match r.overall_status() {
        RecordStatus::Complete => "responseComplete",
        RecordStatus::Partial => "responsePartial",
        RecordStatus::NoData => "responseNoData",
    });
    x.close("responseStatus");
    x.open("responseRecords");
    for item in &r.items {
        x.open_attr("responseRecord", "number", &item.number.to_string());
        x.open("requestedItem");
        match &item.asked {
            Value::Object(fields) => {
                for (k, v) in fields {
                    x.value(k, v);
                }
            }
            other => x.text_line(&scalar_text(other).unwrap_or_default()),
        }
        x.close("requestedItem");
        if let Some(t) = item.at_utc {
            x.leaf("requestedTime", &generalized_time(t));
        }
        if let Some((from, to)) = item.window {
            x.open("requestedWindow");
            x.leaf("startTime", &generalized_time(from));
            x.leaf("endTime", &generalized_time(to));
            x.close("requestedWindow");
        }
        x.leaf(
            "recordStatus",
            match item.record_status {
                RecordStatus::Complete => "complete",
                RecordStatus::Partial => "partial",
                RecordStatus::NoData => "noData",
            },
        );
        x.leaf("attributionStatus", &item.status);
        if item.subscriber.is_some() || item.identity.is_some() {
            subscriber_info(&mut x, item.subscriber.as_deref(), item.identity.as_ref());
        }
        for e in &item.evidence {
            network_access(&mut x, e);
        }
        if !item.warnings.is_empty() {
            x.open("warnings");
            for w in &item.warnings {
                x.leaf("warning", w);
            }
            x.close("warnings");
        }
        x.close("responseRecord");
    }
    x.close("responseRecords");
    x.open("approvals");
    for a in &r.approvals {
        x.open("approval");
        x.leaf("action", &a.action);
        x.leaf("by", &a.by);
        x.leaf("timeStamp", &generalized_time(a.at));
        x.opt("reason", a.reason.as_deref());
        x.close("approval");
    }
    x.close("approvals");
    x.leaf_attr("reportDigest", "algorithm", "SHA-256", report_sha256);
    x.open("auditSequences");
    for s in &r.audit_seqs {
        x.leaf("auditSequence", &s.to_string());
    }
    x.close("auditSequences");
    x.close("retainedDataMessage");
    x.out
}

fn authorization(x: &mut Writer, r: &Report) {
    let c = &r.case;
    x.open("authorization");
    x.leaf("requestType", &c.request_type);
    x.leaf("legalBasis", &c.legal_basis);
    x.leaf("issuingAuthority", &c.authority);
    x.leaf("caseNumber", &c.case_number);
    x.opt("decisionDate", c.decision_date.as_deref());
    x.opt("legalForceDate", c.legal_force_date.as_deref());
    x.opt("deadline", c.deadline.as_deref());
    x.leaf_attr("orderDigest", "algorithm", "SHA-256", &c.order_sha256);
    x.leaf("notes", &c.notes);
    x.leaf("caseState", &c.state);
    x.close("authorization");
}

fn subscriber_info(x: &mut Writer, subscriber: Option<&str>, id: Option<&DisclosedIdentity>) {
    x.open("subscriberInfo");
    x.opt("subscriberID", subscriber);
    if let Some(id) = id {
        x.leaf("name", &id.name);
        if id.street.is_some() || id.postal_code.is_some() || id.city.is_some() {
            x.open("address");
            x.opt("street", id.street.as_deref());
            x.opt("postalCode", id.postal_code.as_deref());
            x.opt("city", id.city.as_deref());
            x.close("address");
        }
        x.opt("customerID", id.customer_id.as_deref());
        x.opt("personalNumber", id.personal_number.as_deref());
        if id.protected_identity {
            x.leaf("protectedIdentity", "true");
        }
    }
    x.close("subscriberInfo");
}

/// One attribution match. Times become GeneralizedTime; a missing or null field is left out.
fn network_access(x: &mut Writer, e: &Value) {
    x.open("networkAccess");
    let Value::Object(m) = e else {
        x.text_line(&scalar_text(e).unwrap_or_default());
        x.close("networkAccess");
        return;
    };
    let get = |k: &str| m.get(k).and_then(scalar_text);
    x.opt("subscriberID", get("subscriber").as_deref());
    x.opt("ipAddress", get("target").as_deref());
    x.opt("startTime", get("start").map(|s| time_field(&s)).as_deref());
    x.opt("startLogged", get("start_logged").as_deref());
    x.opt("endTime", get("end").map(|s| time_field(&s)).as_deref());
    x.opt("endKind", get("end_kind").as_deref());
    x.opt(
        "confirmedUntil",
        get("confirmed_until").map(|s| time_field(&s)).as_deref(),
    );
    x.opt("source", get("source").as_deref());
    x.opt("sendingPeer", get("peer").as_deref());
    x.opt("retentionClass", get("class").as_deref());
    match m.get("via") {
        Some(Value::Object(v)) => {
            let get = |k: &str| v.get(k).and_then(scalar_text);
            x.open("natTranslation");
            x.opt("publicAddress", get("public").as_deref());
            x.opt("portRange", get("ports").as_deref());
            x.opt("insideAddress", get("inside").as_deref());
            x.opt("startTime", get("start").map(|s| time_field(&s)).as_deref());
            x.opt("endTime", get("end").map(|s| time_field(&s)).as_deref());
            x.opt("endKind", get("end_kind").as_deref());
            x.opt("source", get("source").as_deref());
            x.opt("sendingPeer", get("peer").as_deref());
            for (k, val) in v.iter().filter(|(k, _)| !VIA_KEYS.contains(&k.as_str())) {
                x.value(k, val);
            }
            x.close("natTranslation");
        }
        Some(Value::Null) | None => {}
        Some(other) => x.value("via", other),
    }
    for (k, v) in m
        .iter()
        .filter(|(k, _)| !EVIDENCE_KEYS.contains(&k.as_str()))
    {
        x.value(k, v);
    }
    x.close("networkAccess");
}

/// `YYYYMMDDhhmmssZ` (ASN.1 GeneralizedTime, UTC); `@<secs>` when out of range.
pub(crate) fn generalized_time(t: i64) -> String {
    utc_datetime(t)
        .map(|d| d.format("%Y%m%d%H%M%SZ").to_string())
        .unwrap_or_else(|| format!("@{t}"))
}

/// An RFC 3339 evidence time as GeneralizedTime; anything else (or a time with a fraction of a
/// second, which GeneralizedTime here would drop) exactly as given.
fn time_field(s: &str) -> String {
    match parse_rfc3339(s) {
        Some(t) if !s.contains('.') => generalized_time(t),
        _ => s.to_string(),
    }
}

/// True for names usable as an XML element name here: ASCII letters, digits, `_`, `-`, `.`,
/// starting with a letter or `_`, and not starting with "xml" (reserved).
fn is_element_name(k: &str) -> bool {
    let mut chars = k.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
        && !k.to_ascii_lowercase().starts_with("xml")
}

#[derive(Default)]
struct Writer {
    out: String,
    depth: usize,
}

impl Writer {
    fn indent(&mut self) {
        for _ in 0..self.depth {
            self.out.push_str("  ");
        }
    }

    fn open(&mut self, tag: &str) {
        self.indent();
        self.out.push_str(&format!("<{tag}>\n"));
        self.depth += 1;
    }

    fn open_attr(&mut self, tag: &str, attr: &str, value: &str) {
        self.indent();
        self.out
            .push_str(&format!("<{tag} {attr}=\"{}\">\n", escape(value)));
        self.depth += 1;
    }

    fn close(&mut self, tag: &str) {
        self.depth -= 1;
        self.indent();
        self.out.push_str(&format!("</{tag}>\n"));
    }

    fn empty(&mut self, tag: &str) {
        self.indent();
        self.out.push_str(&format!("<{tag}/>\n"));
    }

    fn leaf(&mut self, tag: &str, text: &str) {
        self.indent();
        self.out
            .push_str(&format!("<{tag}>{}</{tag}>\n", escape(text)));
    }

    fn leaf_attr(&mut self, tag: &str, attr: &str, value: &str, text: &str) {
        self.indent();
        self.out.push_str(&format!(
            "<{tag} {attr}=\"{}\">{}</{tag}>\n",
            escape(value),
            escape(text)
        ));
    }

    fn opt(&mut self, tag: &str, text: Option<&str>) {
        if let Some(t) = text {
            self.leaf(tag, t);
        }
    }

    fn text_line(&mut self, text: &str) {
        self.indent();
        self.out.push_str(&escape(text));
        self.out.push('\n');
    }

    /// A JSON value under key `k`: an element named `k` when that is a plain name, else
    /// `<field name="k">`; objects nest, array elements become `<item>`, null is `nil="true"`.
    fn value(&mut self, k: &str, v: &Value) {
        let (tag, attr) = if is_element_name(k) {
            (k, None)
        } else {
            ("field", Some(k))
        };
        let head = match attr {
            Some(a) => format!("{tag} name=\"{}\"", escape(a)),
            None => tag.to_string(),
        };
        self.indent();
        match v {
            Value::Null => self.out.push_str(&format!("<{head} nil=\"true\"/>\n")),
            Value::Object(m) if m.is_empty() => self.out.push_str(&format!("<{head}/>\n")),
            Value::Array(a) if a.is_empty() => self.out.push_str(&format!("<{head}/>\n")),
            Value::Object(m) => {
                self.out.push_str(&format!("<{head}>\n"));
                self.depth += 1;
                for (k2, v2) in m {
                    self.value(k2, v2);
                }
                self.close(tag);
            }
            Value::Array(a) => {
                self.out.push_str(&format!("<{head}>\n"));
                self.depth += 1;
                for v2 in a {
                    self.value("item", v2);
                }
                self.close(tag);
            }
            scalar_value => {
                let text = scalar_text(scalar_value).unwrap_or_default();
                self.out
                    .push_str(&format!("<{head}>{}</{tag}>\n", escape(&text)));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::{CaseInfo, ReportItem};
    use serde_json::json;

    /// Checks that every start tag has its end tag, in order, and nothing is left open.
    fn assert_balanced(doc: &str) {
        let mut stack: Vec<String> = Vec::new();
        let mut rest = doc;
        while let Some(i) = rest.find('<') {
            let j = rest[i..].find('>').expect("unterminated tag") + i;
            let tag = &rest[i + 1..j];
            rest = &rest[j + 1..];
            if tag.starts_with('?') || tag.ends_with('/') {
                continue;
            }
            if let Some(name) = tag.strip_prefix('/') {
                assert_eq!(stack.pop().as_deref(), Some(name), "mismatched </{name}>");
            } else {
                stack.push(tag.split_whitespace().next().unwrap().to_string());
            }
        }
        assert!(stack.is_empty(), "left open: {stack:?}");
    }

    fn report(asked: Value, evidence: Vec<Value>) -> Report {
        Report {
            csp_id: "Junet & Co <AB>".into(),
            request_id: "C-\"1\"".into(),
            generated_at: 1_795_255_200,
            case: CaseInfo {
                request_type: "ipred".into(),
                legal_basis: "53 c §".into(),
                authority: "PMD".into(),
                case_number: "PMÄ 'x'".into(),
                decision_date: None,
                legal_force_date: None,
                deadline: None,
                order_sha256: "ab".into(),
                notes: "a <b> & 'c' \"d\"".into(),
                state: "executed".into(),
            },
            items: vec![ReportItem {
                number: 1,
                asked,
                at_utc: Some(1_795_166_100),
                window: None,
                status: "found".into(),
                record_status: RecordStatus::Complete,
                subscriber: Some("u<1>".into()),
                identity: Some(DisclosedIdentity {
                    name: "O'Brien & <Öberg> \"Åsa\"".into(),
                    street: None,
                    postal_code: None,
                    city: Some("Stockholm".into()),
                    customer_id: None,
                    personal_number: None,
                    protected_identity: false,
                }),
                evidence,
                warnings: vec!["w <1>".into()],
            }],
            approvals: vec![],
            audit_seqs: vec![7],
        }
    }

    #[test]
    fn escapes_names_notes_and_ids() {
        let doc = render(&report(json!({"addr": "203.0.113.7"}), vec![]), "d1");
        assert!(doc.contains("<name>O&#39;Brien &amp; &lt;Öberg&gt; &quot;Åsa&quot;</name>"));
        assert!(doc.contains("<notes>a &lt;b&gt; &amp; &#39;c&#39; &quot;d&quot;</notes>"));
        assert!(doc.contains("<cSPID>Junet &amp; Co &lt;AB&gt;</cSPID>"));
        assert!(doc.contains("<requestID>C-&quot;1&quot;</requestID>"));
        assert!(doc.contains("<subscriberID>u&lt;1&gt;</subscriberID>"));
        assert!(doc.contains("<address>\n"));
        assert!(!doc.contains("<street>"), "absent fields are left out");
        assert_balanced(&doc);
    }

    #[test]
    fn keys_that_are_not_element_names_become_fields() {
        let asked =
            json!({"addr": "x", "a b": 1, "<k>": {"n": null}, "list": [1, "2"], "xmlns": "y"});
        let doc = render(&report(asked, vec![json!({"odd key": true})]), "d");
        assert!(doc.contains("<addr>x</addr>"));
        assert!(doc.contains("<field name=\"a b\">1</field>"));
        assert!(doc.contains("<field name=\"&lt;k&gt;\">\n"));
        assert!(doc.contains("<n nil=\"true\"/>"));
        assert!(doc.contains("<item>2</item>"));
        assert!(doc.contains("<field name=\"xmlns\">y</field>"));
        assert!(doc.contains("<field name=\"odd key\">true</field>"));
        assert_balanced(&doc);
    }

    #[test]
    fn evidence_times_become_generalized_time() {
        let e = json!({"subscriber": "u1", "target": "100.64.0.9", "start": "2026-11-20T08:00:00Z",
            "start_logged": true, "end": null, "end_kind": "open", "confirmed_until": null,
            "source": "radius", "class": "billing",
            "via": {"public": "203.0.113.7", "ports": "51200-51263", "inside": "100.64.0.9",
                    "start": "2026-11-20T07:59:58+00:00", "end": null, "end_kind": "open", "source": "vpp"}});
        let doc = render(&report(json!({}), vec![e]), "d");
        assert!(doc.contains("<startTime>20261120080000Z</startTime>"));
        assert!(doc.contains("<startTime>20261120075958Z</startTime>"));
        assert!(
            !doc.contains("<endTime>"),
            "an open binding has no end time"
        );
        assert!(doc.contains("<portRange>51200-51263</portRange>"));
        assert!(doc.contains("<requestedTime>20261120091500Z</requestedTime>"));
        assert_balanced(&doc);
    }

    #[test]
    fn the_sending_peer_is_shown_next_to_the_source() {
        let e = json!({"subscriber": "u1", "source": "edge", "peer": "10.0.0.5",
            "via": {"public": "203.0.113.7", "source": "cgnat", "peer": "10.255.0.1"}});
        let doc = render(&report(json!({}), vec![e]), "d");
        assert!(doc.contains("<source>edge</source>\n"), "{doc}");
        assert!(doc.contains("<sendingPeer>10.0.0.5</sendingPeer>"), "{doc}");
        assert!(
            doc.contains("<sendingPeer>10.255.0.1</sendingPeer>"),
            "{doc}"
        );
        assert!(
            !doc.contains("name=\"peer\""),
            "a named place, not a loose field"
        );
        assert_balanced(&doc);
    }

    #[test]
    fn response_status_follows_the_items() {
        let mut r = report(json!({}), vec![]);
        assert!(render(&r, "d").contains("<responseComplete/>"));
        let mut second = r.items[0].clone();
        second.number = 2;
        second.record_status = RecordStatus::NoData;
        r.items.push(second);
        let doc = render(&r, "d");
        assert!(doc.contains("<responsePartial/>"));
        assert!(doc.contains("<recordStatus>noData</recordStatus>"));
        r.items[0].record_status = RecordStatus::NoData;
        assert!(render(&r, "d").contains("<responseNoData/>"));
    }

    #[test]
    fn generalized_time_is_utc() {
        assert_eq!(generalized_time(1_774_746_000), "20260329010000Z");
        assert_eq!(generalized_time(i64::MAX), format!("@{}", i64::MAX));
    }
}
