//! juniper-nat: placeholder until its parser lands.

use crate::model::Event;
use crate::{Context, ParseError, Parser};

pub struct JuniperNat {
    #[allow(dead_code)]
    ctx: Context,
}

impl JuniperNat {
    pub fn new(ctx: &Context) -> Self {
        JuniperNat { ctx: ctx.clone() }
    }
}

impl Parser for JuniperNat {
    fn parse(&mut self, _frame: &[u8], _out: &mut Vec<Event>) -> Result<(), ParseError> {
        Err(ParseError::new("parse.unimplemented", "this format's parser is not written yet"))
    }
}
