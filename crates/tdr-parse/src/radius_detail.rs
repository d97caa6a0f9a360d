//! radius-detail: placeholder until its parser lands.

use crate::model::Event;
use crate::{Context, ParseError, Parser};

pub struct RadiusDetail {
    #[allow(dead_code)]
    ctx: Context,
}

impl RadiusDetail {
    pub fn new(ctx: &Context) -> Self {
        RadiusDetail { ctx: ctx.clone() }
    }
}

impl Parser for RadiusDetail {
    fn parse(&mut self, _frame: &[u8], _out: &mut Vec<Event>) -> Result<(), ParseError> {
        Err(ParseError::new("parse.unimplemented", "this format's parser is not written yet"))
    }
}
