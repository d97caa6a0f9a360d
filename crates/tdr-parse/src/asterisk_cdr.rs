//! asterisk-cdr: placeholder until its parser lands.

use crate::model::Event;
use crate::{Context, ParseError, Parser};

pub struct AsteriskCdr {
    #[allow(dead_code)]
    ctx: Context,
}

impl AsteriskCdr {
    pub fn new(ctx: &Context) -> Self {
        AsteriskCdr { ctx: ctx.clone() }
    }
}

impl Parser for AsteriskCdr {
    fn parse(&mut self, _frame: &[u8], _out: &mut Vec<Event>) -> Result<(), ParseError> {
        Err(ParseError::new("parse.unimplemented", "this format's parser is not written yet"))
    }
}
