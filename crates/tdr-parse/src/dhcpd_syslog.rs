//! dhcpd-syslog: placeholder until its parser lands.

use crate::model::Event;
use crate::{Context, ParseError, Parser};

pub struct DhcpdSyslog {
    #[allow(dead_code)]
    ctx: Context,
}

impl DhcpdSyslog {
    pub fn new(ctx: &Context) -> Self {
        DhcpdSyslog { ctx: ctx.clone() }
    }
}

impl Parser for DhcpdSyslog {
    fn parse(&mut self, _frame: &[u8], _out: &mut Vec<Event>) -> Result<(), ParseError> {
        Err(ParseError::new("parse.unimplemented", "this format's parser is not written yet"))
    }
}
