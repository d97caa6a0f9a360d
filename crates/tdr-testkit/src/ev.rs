//! Event lines in the neutral format (`--format events`), as tests write them: sessions from
//! `bng1` (source `radius`), leases (source `dhcp`), NAT port blocks (source `cgnat`).

/// A session event (`op`: start, interim, stop).
pub fn session(op: &str, time: &str, sub: &str, sess: &str, addr: &str) -> String {
    format!(
        r#"{{"kind":"session","op":"{op}","time":"{time}","subscriber":"{sub}","session":"{sess}","addr":"{addr}","nas":"bng1","source":"radius"}}"#
    )
}

/// A session event of data class `class`.
pub fn session_class(
    op: &str,
    time: &str,
    sub: &str,
    sess: &str,
    addr: &str,
    class: &str,
) -> String {
    format!(
        r#"{{"kind":"session","op":"{op}","time":"{time}","subscriber":"{sub}","session":"{sess}","addr":"{addr}","nas":"bng1","source":"radius","class":"{class}"}}"#
    )
}

/// A lease event (`op`: assign, renew, release, expire), with its expiry if given.
pub fn lease(op: &str, time: &str, sub: &str, addr: &str, expires: Option<&str>) -> String {
    match expires {
        Some(e) => format!(
            r#"{{"kind":"lease","op":"{op}","time":"{time}","subscriber":"{sub}","addr":"{addr}","expires":"{e}","source":"dhcp"}}"#
        ),
        None => format!(
            r#"{{"kind":"lease","op":"{op}","time":"{time}","subscriber":"{sub}","addr":"{addr}","source":"dhcp"}}"#
        ),
    }
}

/// A NAT port-block event (`op`: alloc, release); `ports` as `LO-HI`.
pub fn nat(op: &str, time: &str, inside: &str, public: &str, ports: &str) -> String {
    format!(
        r#"{{"kind":"nat_block","op":"{op}","time":"{time}","inside":"{inside}","public":"{public}","ports":"{ports}","source":"cgnat"}}"#
    )
}

/// A reboot of `bng1`.
pub fn reboot(time: &str) -> String {
    format!(r#"{{"kind":"nas_reboot","time":"{time}","nas":"bng1","source":"radius"}}"#)
}

/// A heartbeat event from an unrelated address, to mark a source as delivering data (coverage)
/// and to move the watermark.
pub fn tick(time: &str) -> String {
    session("interim", time, "zz-heartbeat", "hb", "10.255.255.255")
}

/// Yesterday's date (UTC, `YYYY-MM-DD`): data of that day is within every retention period.
pub fn yesterday() -> String {
    (chrono::Utc::now().date_naive() - chrono::Days::new(1)).to_string()
}

/// An answered 60-second call on `day` (`YYYY-MM-DD`) from `start` to `end` (`HH:MM:SS`,
/// UTC) between `calling` and `called`, from `pbx1`, of data class `class`.
pub fn cdr(day: &str, start: &str, end: &str, calling: &str, called: &str, class: &str) -> String {
    format!(
        r#"{{"kind":"cdr","time":"{day}T{start}Z","answer":"{day}T{start}Z","end":"{day}T{end}Z","duration":60,"billsec":60,"calling":"{calling}","called":"{called}","disposition":"ANSWERED","call_id":"{calling}-{start}","source":"pbx1","class":"{class}"}}"#
    )
}
