//! The report as ETSI TS 102 657 ("Retained data handling; Handover interface for the request and
//! delivery of retained data") XML, for authorities that take machine-readable answers.
//!
//! The standard's part is a `RetainedDataMessage` in the RetainedData namespace: the
//! `retainedDataHeader` (`requestID` with `countryCode` "SE", the authority as
//! `authorisedOrganisationID` and its case number as `requestNumber`; `cSPID`; `timeStamp` as
//! GeneralizedTime; `requestType`) and `retainedDataPayload/responseMessage` with a
//! `responseStatus` and one numbered `ResponseRecord` per binding disclosed, in the network-access
//! category (`recordPayload/networkAccessRecord/naServiceUsage`: `naAuthID` the subscriber,
//! `interval` start and end, `naAssignedAddress` the address). The names and their order follow
//! the standard's ASN.1 as far as public copies show it; README.md ("The ETSI XML") says which
//! were checked and which were not (no XSD validation is done).
//!
//! What the standard has no place for (the asked items and their attribution status with its
//! explanation, the disclosed identity, every evidence field, the order and case details,
//! approvals, audit sequence numbers, warnings, the JSON report's SHA-256) is in one extension
//! element at the end of the message, `tdr:report` in the namespace [`TDR_NAMESPACE`]; each
//! disclosed binding there names its `ResponseRecord` by number.
//!
//! Every value in the [`Report`] appears; nothing else does except fixed text (the country code,
//! the header OID, status explanations). The output is deterministic (2-space indentation, fixed
//! element order), and all text goes through [`escape`].

use serde_json::{Map, Value};

use super::{
    escape, explain_status, parse_rfc3339, scalar_text, utc_datetime, DisclosedIdentity,
    RecordStatus, Report, ReportItem, EVIDENCE_KEYS, VIA_KEYS,
};

/// The RetainedData namespace of TS 102 657 V1.28.1 (the version real exports are seen under).
pub const ETSI_NAMESPACE: &str = "http://uri.etsi.org/02657/v1.28.1#/RetainedData";
/// `rdHeaderId`: {itu-t(0) identified-organization(4) etsi(0) securityDomain(2) retainedData(3)
/// rdHeader(0) version28(28)}, the ASN.1 module version taken to match V1.28.1.
const RD_HEADER_ID: &str = "0.4.0.2.3.0.28";
/// The namespace of tdr's extension (`tdr:report`); its version is the layout's version.
pub const TDR_NAMESPACE: &str = "urn:tdr:report:1";
/// ISO 3166-1 code of the country whose authorities tdr answers.
const COUNTRY_CODE: &str = "SE";

/// The XML rendering of `r`; `report_sha256` is the SHA-256 of [`super::json::render`]`(r)`.
pub fn render(r: &Report, report_sha256: &str) -> String {
    let mut x = Writer::default();
    x.out
        .push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    x.indent();
    x.out.push_str(&format!(
        "<RetainedDataMessage xmlns=\"{ETSI_NAMESPACE}\" xmlns:tdr=\"{TDR_NAMESPACE}\">\n"
    ));
    x.depth += 1;
    x.leaf("rdHeaderId", RD_HEADER_ID);
    header(&mut x, r);

    // One ResponseRecord per disclosed binding (a binding of an item that names its subscriber),
    // numbered from 1 in item order. The bindings of an answer that names nobody ("candidate 1")
    // are evidence, not records: they are only in the extension.
    let discloses = |i: &ReportItem| i.subscriber.is_some() && !i.evidence.is_empty();
    let mut record_numbers: Vec<Vec<u32>> = vec![Vec::new(); r.items.len()];
    let mut next = 1u32;
    x.open("retainedDataPayload");
    x.open("responseMessage");
    x.open("responseStatus");
    // The whole answer is in this one message; whether items found data is tdr:overallStatus.
    x.empty("responseComplete");
    x.close("responseStatus");
    if r.items.iter().any(discloses) {
        x.open("responseRecords");
        for (item, numbers) in r.items.iter().zip(record_numbers.iter_mut()) {
            if !discloses(item) {
                continue;
            }
            for e in &item.evidence {
                response_record(&mut x, next, e);
                numbers.push(next);
                next += 1;
            }
        }
        x.close("responseRecords");
    }
    x.close("responseMessage");
    x.close("retainedDataPayload");

    extension(&mut x, r, report_sha256, &record_numbers);
    x.close("RetainedDataMessage");
    x.out
}

fn header(x: &mut Writer, r: &Report) {
    x.open("retainedDataHeader");
    x.open("requestID");
    x.leaf("countryCode", COUNTRY_CODE);
    x.leaf("authorisedOrganisationID", &r.case.authority);
    x.leaf("requestNumber", &r.case.case_number);
    x.close("requestID");
    x.leaf("cSPID", &r.csp_id);
    x.leaf("timeStamp", &generalized_time(r.generated_at));
    x.leaf("requestType", &r.case.request_type);
    x.close("retainedDataHeader");
}

/// The standard's view of one binding: who (`naAuthID`), when (`interval`) and which address
/// (`naAssignedAddress`). Behind a CGNAT that is the public address and the translation's times
/// (what the authority asked about); otherwise the subscriber's own address and session. Times
/// that are not RFC 3339 are left out here (the extension keeps them as given).
fn response_record(x: &mut Writer, number: u32, e: &Value) {
    x.open("ResponseRecord");
    x.leaf("recordNumber", &number.to_string());
    x.open("recordPayload");
    x.open("networkAccessRecord");
    let Value::Object(m) = e else {
        x.empty("naServiceUsage");
        x.close("networkAccessRecord");
        x.close("recordPayload");
        x.close("ResponseRecord");
        return;
    };
    let via = match m.get("via") {
        Some(Value::Object(v)) => Some(v),
        _ => None,
    };
    let from = via.unwrap_or(m);
    let get = |o: &Map<String, Value>, k: &str| o.get(k).and_then(scalar_text);
    let address = match via {
        Some(v) => get(v, "public"),
        None => get(m, "target"),
    };
    let start = get(from, "start").and_then(|s| standard_time(&s));
    let end = get(from, "end").and_then(|s| standard_time(&s));
    x.open("naServiceUsage");
    x.opt("naAuthID", get(m, "subscriber").as_deref());
    if start.is_some() || end.is_some() {
        x.open("interval");
        x.opt("startTime", start.as_deref());
        x.opt("endTime", end.as_deref());
        x.close("interval");
    }
    if let Some(a) = address {
        x.open("naAssignedAddress");
        x.leaf("iPTextAddress", &a);
        x.close("naAssignedAddress");
    }
    x.close("naServiceUsage");
    x.close("networkAccessRecord");
    x.close("recordPayload");
    x.close("ResponseRecord");
}

/// `tdr:report`: everything in the report, including what the standard part repeats.
fn extension(x: &mut Writer, r: &Report, report_sha256: &str, record_numbers: &[Vec<u32>]) {
    x.open("tdr:report");
    x.leaf("tdr:caseId", &r.request_id);
    x.leaf("tdr:overallStatus", record_status(r.overall_status()));
    authorization(x, r);
    x.open("tdr:items");
    for (item, numbers) in r.items.iter().zip(record_numbers) {
        report_item(x, item, numbers);
    }
    x.close("tdr:items");
    x.open("tdr:approvals");
    for a in &r.approvals {
        x.open("tdr:approval");
        x.leaf("tdr:action", &a.action);
        x.leaf("tdr:by", &a.by);
        x.leaf("tdr:timeStamp", &generalized_time(a.at));
        x.opt("tdr:reason", a.reason.as_deref());
        x.close("tdr:approval");
    }
    x.close("tdr:approvals");
    x.open("tdr:auditSequences");
    for s in &r.audit_seqs {
        x.leaf("tdr:auditSequence", &s.to_string());
    }
    x.close("tdr:auditSequences");
    x.leaf_attr("tdr:reportDigest", "algorithm", "SHA-256", report_sha256);
    x.close("tdr:report");
}

fn authorization(x: &mut Writer, r: &Report) {
    let c = &r.case;
    x.open("tdr:authorization");
    x.leaf("tdr:requestType", &c.request_type);
    x.leaf("tdr:legalBasis", &c.legal_basis);
    x.leaf("tdr:issuingAuthority", &c.authority);
    x.leaf("tdr:caseNumber", &c.case_number);
    x.opt("tdr:decisionDate", c.decision_date.as_deref());
    x.opt("tdr:legalForceDate", c.legal_force_date.as_deref());
    x.opt("tdr:deadline", c.deadline.as_deref());
    x.leaf_attr("tdr:orderDigest", "algorithm", "SHA-256", &c.order_sha256);
    x.leaf("tdr:notes", &c.notes);
    x.leaf("tdr:caseState", &c.state);
    x.close("tdr:authorization");
}

fn report_item(x: &mut Writer, item: &ReportItem, record_numbers: &[u32]) {
    x.open("tdr:item");
    x.leaf("tdr:number", &item.number.to_string());
    x.open("tdr:requestedItem");
    match &item.asked {
        Value::Object(fields) => {
            for (k, v) in fields {
                x.value(k, v);
            }
        }
        other => x.text_line(&scalar_text(other).unwrap_or_default()),
    }
    x.close("tdr:requestedItem");
    if let Some(t) = item.at_utc {
        x.leaf("tdr:requestedTime", &generalized_time(t));
    }
    if let Some((from, to)) = item.window {
        x.open("tdr:requestedWindow");
        x.leaf("tdr:startTime", &generalized_time(from));
        x.leaf("tdr:endTime", &generalized_time(to));
        x.close("tdr:requestedWindow");
    }
    x.leaf("tdr:recordStatus", record_status(item.record_status));
    x.leaf("tdr:attributionStatus", &item.status);
    x.leaf("tdr:explanation", explain_status(&item.status));
    if item.subscriber.is_some() || item.identity.is_some() {
        subscriber(x, item.subscriber.as_deref(), item.identity.as_ref());
    }
    for (i, e) in item.evidence.iter().enumerate() {
        binding(x, record_numbers.get(i).copied(), e);
    }
    if !item.warnings.is_empty() {
        x.open("tdr:warnings");
        for w in &item.warnings {
            x.leaf("tdr:warning", w);
        }
        x.close("tdr:warnings");
    }
    x.close("tdr:item");
}

fn subscriber(x: &mut Writer, subscriber: Option<&str>, id: Option<&DisclosedIdentity>) {
    x.open("tdr:subscriber");
    x.opt("tdr:subscriberID", subscriber);
    if let Some(id) = id {
        x.leaf("tdr:name", &id.name);
        if id.street.is_some() || id.postal_code.is_some() || id.city.is_some() {
            x.open("tdr:address");
            x.opt("tdr:street", id.street.as_deref());
            x.opt("tdr:postalCode", id.postal_code.as_deref());
            x.opt("tdr:city", id.city.as_deref());
            x.close("tdr:address");
        }
        x.opt("tdr:customerID", id.customer_id.as_deref());
        x.opt("tdr:personalNumber", id.personal_number.as_deref());
        if id.protected_identity {
            x.leaf("tdr:protectedIdentity", "true");
        }
    }
    x.close("tdr:subscriber");
}

/// One attribution match in full, naming its `ResponseRecord` when it has one. Times become
/// GeneralizedTime; a missing or null field is left out; keys without a named place keep their
/// own name.
fn binding(x: &mut Writer, record_number: Option<u32>, e: &Value) {
    x.open("tdr:binding");
    x.opt(
        "tdr:recordNumber",
        record_number.map(|n| n.to_string()).as_deref(),
    );
    let Value::Object(m) = e else {
        x.text_line(&scalar_text(e).unwrap_or_default());
        x.close("tdr:binding");
        return;
    };
    let get = |k: &str| m.get(k).and_then(scalar_text);
    x.opt("tdr:subscriberID", get("subscriber").as_deref());
    x.opt("tdr:address", get("target").as_deref());
    x.opt(
        "tdr:startTime",
        get("start").map(|s| time_field(&s)).as_deref(),
    );
    x.opt("tdr:startLogged", get("start_logged").as_deref());
    x.opt("tdr:endTime", get("end").map(|s| time_field(&s)).as_deref());
    x.opt("tdr:endKind", get("end_kind").as_deref());
    x.opt(
        "tdr:confirmedUntil",
        get("confirmed_until").map(|s| time_field(&s)).as_deref(),
    );
    x.opt("tdr:source", get("source").as_deref());
    x.opt("tdr:sendingPeer", get("peer").as_deref());
    x.opt("tdr:retentionClass", get("class").as_deref());
    match m.get("via") {
        Some(Value::Object(v)) => {
            let get = |k: &str| v.get(k).and_then(scalar_text);
            x.open("tdr:natTranslation");
            x.opt("tdr:publicAddress", get("public").as_deref());
            x.opt("tdr:portRange", get("ports").as_deref());
            x.opt("tdr:insideAddress", get("inside").as_deref());
            x.opt(
                "tdr:startTime",
                get("start").map(|s| time_field(&s)).as_deref(),
            );
            x.opt("tdr:endTime", get("end").map(|s| time_field(&s)).as_deref());
            x.opt("tdr:endKind", get("end_kind").as_deref());
            x.opt("tdr:source", get("source").as_deref());
            x.opt("tdr:sendingPeer", get("peer").as_deref());
            for (k, val) in v.iter().filter(|(k, _)| !VIA_KEYS.contains(&k.as_str())) {
                x.value(k, val);
            }
            x.close("tdr:natTranslation");
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
    x.close("tdr:binding");
}

fn record_status(s: RecordStatus) -> &'static str {
    match s {
        RecordStatus::Complete => "complete",
        RecordStatus::Partial => "partial",
        RecordStatus::NoData => "noData",
    }
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

/// An RFC 3339 evidence time as GeneralizedTime for the standard's fields, keeping a fraction of
/// a second (`YYYYMMDDhhmmss.fffZ`); `None` when it is not RFC 3339 in chrono's range.
fn standard_time(s: &str) -> Option<String> {
    let t = chrono::DateTime::parse_from_rfc3339(s).ok()?;
    Some(
        t.with_timezone(&chrono::Utc)
            .format("%Y%m%d%H%M%S%.fZ")
            .to_string(),
    )
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

    /// A JSON value under key `k`, in the tdr namespace: `tdr:k` when `k` is a plain name, else
    /// `<tdr:field name="k">`; objects nest, array elements become `tdr:item`, null is
    /// `nil="true"`.
    fn value(&mut self, k: &str, v: &Value) {
        let (tag, head) = if is_element_name(k) {
            let tag = format!("tdr:{k}");
            (tag.clone(), tag)
        } else {
            (
                "tdr:field".to_string(),
                format!("tdr:field name=\"{}\"", escape(k)),
            )
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
                self.close(&tag);
            }
            Value::Array(a) => {
                self.out.push_str(&format!("<{head}>\n"));
                self.depth += 1;
                for v2 in a {
                    self.value("item", v2);
                }
                self.close(&tag);
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
    use crate::report::CaseInfo;
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

    /// The text of the first `<tag>…</tag>` after the first occurrence of `after`.
    fn text_after<'a>(doc: &'a str, after: &str, tag: &str) -> &'a str {
        let from = doc
            .find(after)
            .unwrap_or_else(|| panic!("{after} in {doc}"));
        let rest = &doc[from..];
        let open = format!("<{tag}>");
        let s = rest
            .find(&open)
            .unwrap_or_else(|| panic!("{tag} in {rest}"))
            + open.len();
        let e = rest[s..].find(&format!("</{tag}>")).unwrap() + s;
        &rest[s..e]
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
    fn the_header_carries_the_request_id_csp_and_time() {
        let doc = render(&report(json!({"addr": "203.0.113.7"}), vec![]), "d1");
        assert!(doc.contains(&format!(
            "<RetainedDataMessage xmlns=\"{ETSI_NAMESPACE}\" xmlns:tdr=\"{TDR_NAMESPACE}\">"
        )));
        let header = text_after(&doc, "<RetainedDataMessage", "retainedDataHeader");
        assert!(header.contains(
            "<requestID>\n      <countryCode>SE</countryCode>\n      \
             <authorisedOrganisationID>PMD</authorisedOrganisationID>\n      \
             <requestNumber>PMÄ &#39;x&#39;</requestNumber>\n    </requestID>"
        ));
        assert!(header.contains("<cSPID>Junet &amp; Co &lt;AB&gt;</cSPID>"));
        assert!(header.contains("<timeStamp>20261121100000Z</timeStamp>"));
        assert!(doc.contains("<tdr:caseId>C-&quot;1&quot;</tdr:caseId>"));
        assert_balanced(&doc);
    }

    #[test]
    fn escapes_names_notes_and_ids() {
        let doc = render(&report(json!({"addr": "203.0.113.7"}), vec![]), "d1");
        assert!(
            doc.contains("<tdr:name>O&#39;Brien &amp; &lt;Öberg&gt; &quot;Åsa&quot;</tdr:name>")
        );
        assert!(doc.contains("<tdr:notes>a &lt;b&gt; &amp; &#39;c&#39; &quot;d&quot;</tdr:notes>"));
        assert!(doc.contains("<tdr:subscriberID>u&lt;1&gt;</tdr:subscriberID>"));
        assert!(doc.contains("<tdr:address>\n"));
        assert!(!doc.contains("<tdr:street>"), "absent fields are left out");
        assert_balanced(&doc);
    }

    #[test]
    fn keys_that_are_not_element_names_become_fields() {
        let asked =
            json!({"addr": "x", "a b": 1, "<k>": {"n": null}, "list": [1, "2"], "xmlns": "y"});
        let doc = render(&report(asked, vec![json!({"odd key": true})]), "d");
        assert!(doc.contains("<tdr:addr>x</tdr:addr>"));
        assert!(doc.contains("<tdr:field name=\"a b\">1</tdr:field>"));
        assert!(doc.contains("<tdr:field name=\"&lt;k&gt;\">\n"));
        assert!(doc.contains("<tdr:n nil=\"true\"/>"));
        assert!(doc.contains("<tdr:item>2</tdr:item>"));
        assert!(doc.contains("<tdr:field name=\"xmlns\">y</tdr:field>"));
        assert!(doc.contains("<tdr:field name=\"odd key\">true</tdr:field>"));
        assert_balanced(&doc);
    }

    #[test]
    fn a_cgnat_binding_is_the_public_address_in_the_record_and_everything_in_the_extension() {
        let e = json!({"subscriber": "u1", "target": "100.64.0.9", "start": "2026-11-20T08:00:00Z",
            "start_logged": true, "end": null, "end_kind": "open", "confirmed_until": null,
            "source": "radius", "class": "billing",
            "via": {"public": "203.0.113.7", "ports": "51200-51263", "inside": "100.64.0.9",
                    "start": "2026-11-20T07:59:58+00:00", "end": null, "end_kind": "open", "source": "vpp"}});
        let doc = render(&report(json!({}), vec![e]), "d");
        let record = text_after(&doc, "<responseRecords>", "ResponseRecord");
        assert!(
            record.contains("<recordNumber>1</recordNumber>"),
            "{record}"
        );
        assert!(record.contains("<naAuthID>u1</naAuthID>"), "{record}");
        assert!(
            record.contains("<startTime>20261120075958Z</startTime>"),
            "the translation's start: {record}"
        );
        assert!(!record.contains("<endTime>"), "an open binding has no end");
        assert!(record.contains("<iPTextAddress>203.0.113.7</iPTextAddress>"));
        let binding = text_after(&doc, "<tdr:items>", "tdr:binding");
        assert!(binding.contains("<tdr:recordNumber>1</tdr:recordNumber>"));
        assert!(binding.contains("<tdr:startTime>20261120080000Z</tdr:startTime>"));
        assert!(binding.contains("<tdr:portRange>51200-51263</tdr:portRange>"));
        assert!(binding.contains("<tdr:startTime>20261120075958Z</tdr:startTime>"));
        assert!(doc.contains("<tdr:requestedTime>20261120091500Z</tdr:requestedTime>"));
        assert_balanced(&doc);
    }

    #[test]
    fn without_a_translation_the_record_is_the_session() {
        let e = json!({"subscriber": "u1", "target": "198.51.100.23",
            "start": "2026-11-20T08:00:00.250+01:00", "end": "bad", "via": null});
        let doc = render(&report(json!({}), vec![e]), "d");
        let record = text_after(&doc, "<responseRecords>", "ResponseRecord");
        assert!(record.contains("<iPTextAddress>198.51.100.23</iPTextAddress>"));
        assert!(
            record.contains("<startTime>20261120070000.250Z</startTime>"),
            "{record}"
        );
        assert!(
            !record.contains("bad"),
            "not a time: not in the standard part"
        );
        assert!(doc.contains("<tdr:startTime>2026-11-20T08:00:00.250+01:00</tdr:startTime>"));
        assert!(doc.contains("<tdr:endTime>bad</tdr:endTime>"));
        assert_balanced(&doc);
    }

    #[test]
    fn the_sending_peer_is_shown_next_to_the_source() {
        let e = json!({"subscriber": "u1", "source": "edge", "peer": "10.0.0.5",
            "via": {"public": "203.0.113.7", "source": "cgnat", "peer": "10.255.0.1"}});
        let doc = render(&report(json!({}), vec![e]), "d");
        assert!(doc.contains("<tdr:source>edge</tdr:source>\n"), "{doc}");
        assert!(
            doc.contains("<tdr:sendingPeer>10.0.0.5</tdr:sendingPeer>"),
            "{doc}"
        );
        assert!(
            doc.contains("<tdr:sendingPeer>10.255.0.1</tdr:sendingPeer>"),
            "{doc}"
        );
        assert!(
            !doc.contains("name=\"peer\""),
            "a named place, not a loose field"
        );
        assert_balanced(&doc);
    }

    #[test]
    fn records_are_numbered_across_items_and_only_named_subscribers_have_them() {
        let b = |s: &str| json!({"subscriber": s, "target": "198.51.100.77"});
        let mut r = report(json!({}), vec![b("u7"), b("u7")]);
        let mut ambiguous = r.items[0].clone();
        ambiguous.number = 2;
        ambiguous.evidence = vec![b("candidate 1"), b("candidate 2")];
        ambiguous.subscriber = None;
        ambiguous.identity = None;
        ambiguous.status = "ambiguous".into();
        ambiguous.record_status = RecordStatus::Partial;
        let mut found = r.items[0].clone();
        found.number = 3;
        found.evidence = vec![b("u9")];
        let mut none = r.items[0].clone();
        none.number = 4;
        none.evidence = vec![];
        none.status = "outside_retention".into();
        none.record_status = RecordStatus::NoData;
        r.items.extend([ambiguous, found, none]);
        let doc = render(&r, "d");
        assert_eq!(doc.matches("<ResponseRecord>").count(), 3);
        for n in 1..=3 {
            assert!(doc.contains(&format!("<recordNumber>{n}</recordNumber>")));
        }
        assert!(!doc.contains("<naAuthID>candidate"), "{doc}");
        let item = |n: u32| {
            let s = &doc[doc.find(&format!("<tdr:number>{n}</tdr:number>")).unwrap()..];
            &s[..s.find("</tdr:item>").unwrap()]
        };
        assert_eq!(item(2).matches("<tdr:binding>").count(), 2);
        assert!(!item(2).contains("tdr:recordNumber"), "{}", item(2));
        assert!(item(3).contains("<tdr:recordNumber>3</tdr:recordNumber>"));
        assert!(!item(4).contains("tdr:binding"));
        assert!(item(4).contains("<tdr:recordStatus>noData</tdr:recordStatus>"));
        assert!(item(4).contains(&format!(
            "<tdr:explanation>{}</tdr:explanation>",
            escape(explain_status("outside_retention"))
        )));
        assert!(doc.contains("<responseComplete/>"));
        assert!(doc.contains("<tdr:overallStatus>partial</tdr:overallStatus>"));
        assert_balanced(&doc);
    }

    #[test]
    fn no_data_at_all_is_a_complete_response_without_records() {
        let mut r = report(json!({}), vec![]);
        r.items[0].record_status = RecordStatus::NoData;
        let doc = render(&r, "d");
        assert!(doc.contains("<responseComplete/>"));
        assert!(!doc.contains("responseRecords"), "{doc}");
        assert!(doc.contains("<tdr:overallStatus>noData</tdr:overallStatus>"));
        assert_balanced(&doc);
    }

    #[test]
    fn generalized_time_is_utc() {
        assert_eq!(generalized_time(1_774_746_000), "20260329010000Z");
        assert_eq!(generalized_time(i64::MAX), format!("@{}", i64::MAX));
        assert_eq!(
            standard_time("2026-03-29T03:00:00+02:00").as_deref(),
            Some("20260329010000Z")
        );
        assert_eq!(standard_time("yesterday"), None);
    }
}
