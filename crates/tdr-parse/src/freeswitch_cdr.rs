//! freeswitch-cdr: placeholder until its parser lands.

use crate::model::Event;
use crate::{Context, ParseError, Parser};

pub struct FreeswitchCdr {
    #[allow(dead_code)]
    ctx: Context,
}

impl FreeswitchCdr {
    pub fn new(ctx: &Context) -> Result<Self, crate::SetupError> {
        Ok(FreeswitchCdr { ctx: ctx.clone() })
    }
}

impl Parser for FreeswitchCdr {
    fn parse(&mut self, _frame: &[u8], _out: &mut Vec<Event>) -> Result<(), ParseError> {
        Err(ParseError::new("parse.unimplemented", "this format's parser is not written yet"))
    }
}
