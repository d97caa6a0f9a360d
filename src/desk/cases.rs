//! The legal officer's pages: the inbox, a new case, the case page with its timeline, four-eyes
//! actions, results and reports, and the access-request (GDPR art. 15) cases.

use axum::Router;

use super::DeskState;

pub fn routes() -> Router<DeskState> {
    Router::new()
}
