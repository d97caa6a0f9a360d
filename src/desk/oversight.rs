//! The auditor's pages (the audit log, its verification, statistics), the security team's
//! abuse lookup and the admin's users.

use axum::Router;

use super::DeskState;

pub fn routes() -> Router<DeskState> {
    Router::new()
}
