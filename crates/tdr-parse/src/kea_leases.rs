//! kea-leases: placeholder until its parser lands.

use crate::model::Event;
use crate::{Context, ParseError, Parser};

pub struct KeaLeases {
    #[allow(dead_code)]
    ctx: Context,
}

impl KeaLeases {
    pub fn new(ctx: &Context) -> Self {
        KeaLeases { ctx: ctx.clone() }
    }
}

impl Parser for KeaLeases {
    fn parse(&mut self, _frame: &[u8], _out: &mut Vec<Event>) -> Result<(), ParseError> {
        Err(ParseError::new("parse.unimplemented", "this format's parser is not written yet"))
    }
}
