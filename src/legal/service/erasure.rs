//! Erasure (GDPR art. 17) of a subscriber's own-purpose data. A placeholder: the lead replaces
//! this file; until then executing an erasure case is refused (and the refusal audited).

use serde_json::Value;

use super::{LegalError, Service};
use crate::legal::auth::Caller;
use crate::legal::case::CaseError;
use crate::legal::policy::Op;

impl Service {
    pub(super) fn erase_case(&self, caller: &Caller, id: &str) -> Result<Value, LegalError> {
        self.admit(caller, Op::CaseExecute, Some(id), &Value::Null)?;
        let err = CaseError::NotForThisType("erasure is not built yet");
        Err(self.refuse(caller, Op::CaseExecute, Some(id), Value::Null, err.into()))
    }
}
