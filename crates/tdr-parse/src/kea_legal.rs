//! kea-legal: placeholder until its parser lands.

use crate::model::Event;
use crate::{Context, ParseError, Parser};

pub struct KeaLegal {
    #[allow(dead_code)]
    ctx: Context,
}

impl KeaLegal {
    pub fn new(ctx: &Context) -> Result<Self, crate::SetupError> {
        Ok(KeaLegal { ctx: ctx.clone() })
    }
}

impl Parser for KeaLegal {
    fn parse(&mut self, _frame: &[u8], _out: &mut Vec<Event>) -> Result<(), ParseError> {
        Err(ParseError::new("parse.unimplemented", "this format's parser is not written yet"))
    }
}
