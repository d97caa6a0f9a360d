//! dhcpd-leases: placeholder until its parser lands.

use crate::model::Event;
use crate::{Context, ParseError, Parser};

pub struct DhcpdLeases {
    #[allow(dead_code)]
    ctx: Context,
}

impl DhcpdLeases {
    pub fn new(ctx: &Context) -> Self {
        DhcpdLeases { ctx: ctx.clone() }
    }
}

impl Parser for DhcpdLeases {
    fn parse(&mut self, _frame: &[u8], _out: &mut Vec<Event>) -> Result<(), ParseError> {
        Err(ParseError::new("parse.unimplemented", "this format's parser is not written yet"))
    }
}
