//! The OpenAPI 3.1 document served at `/v1/openapi.json`, generated from [`super::ROUTES`] so
//! it cannot drift from the router; each operation lists the roles allowed to call it.

use serde_json::{json, Map, Value};

use super::{Route, ROUTES};
use crate::legal::policy::Op;

/// The body a route takes, if any.
fn request_body(r: &Route) -> Option<Value> {
    let person = json!({"type": "object", "required": ["name", "employee_id"],
        "description": "the person the user belongs to: four eyes compare persons",
        "properties": {"name": {"type": "string"}, "employee_id": {"type": "string"}}});
    let raw = |media: &str, what: &str| {
        Some(
            json!({"required": true, "content": {media: {"schema": {"type": "string",
                    "format": "binary", "description": what}}}}),
        )
    };
    if r.path.ends_with("/lookups") {
        let schema = json!({"type": "object", "required": ["purpose", "queries"],
            "properties": {"purpose": {"enum": ["ipred", "law_enforcement"]},
                           "queries": {"type": "array", "items": {"$ref": "#/components/schemas/ScopeItem"}}}});
        return Some(
            json!({"required": true, "content": {"application/json": {"schema": schema}}}),
        );
    }
    if r.path.ends_with("/order") && r.method == "PUT" {
        return raw(
            "application/pdf",
            "the scanned order (image/png, image/jpeg, image/tiff too)",
        );
    }
    let schema = match r.op {
        Op::IdentityImport => return raw("text/csv", "the CRM export"),
        Op::Import => return raw("application/octet-stream", "the log file, as written"),
        Op::UserAdd => json!({"type": "object", "required": ["name", "role", "person"],
            "properties": {"name": {"type": "string"},
                           "role": {"enum": ["legal", "security", "auditor", "ops", "admin"]},
                           "person": person}}),
        Op::AdminBootstrap => json!({"type": "object", "required": ["name", "person"],
            "properties": {"name": {"type": "string"}, "person": person}}),
        Op::CaseCreate => json!({"$ref": "#/components/schemas/NewCase"}),
        Op::BackupCreate => json!({"type": "object", "required": ["dir"],
            "properties": {"dir": {"type": "string",
                "description": "absolute path of a new or empty folder the daemon writes"}}}),
        Op::KeysExport => json!({"type": "object", "required": ["file"],
            "properties": {"file": {"type": "string",
                "description": "absolute path of a new file the daemon writes"}}}),
        Op::CaseReject | Op::CaseLift => json!({"type": "object", "required": ["reason"],
                                 "properties": {"reason": {"type": "string"}}}),
        Op::CaseExecute => json!({"type": "object", "properties": {"override": {
            "type": "object", "required": ["fields", "reason"],
            "description": "IPRED only: disclose more than name and address (audited)",
            "properties": {"fields": {"type": "array", "items": {"enum": ["personal_number", "customer_id"]}},
                           "reason": {"type": "string"}}}}}),
        Op::CaseLookup => json!({"description": "an address at a time, or a number in a window",
                                 "$ref": "#/components/schemas/ScopeItem"}),
        Op::AbuseLookup => json!({"type": "object", "required": ["addr", "at", "reference"],
            "properties": {"addr": {"type": "string"}, "port": {"type": "integer"},
                           "at": {"type": "string", "format": "date-time"},
                           "reference": {"type": "string", "description": "the abuse ticket"}}}),
        Op::AccessExtract => json!({"type": "object", "required": ["case"],
            "properties": {"case": {"type": "string", "description": "an approved access case"}}}),
        _ => return None,
    };
    Some(json!({"required": true, "content": {"application/json": {"schema": schema}}}))
}

fn error_response(description: &str) -> Value {
    json!({"description": description,
           "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}})
}

/// The document.
pub fn document() -> Value {
    let mut paths: Map<String, Value> = Map::new();
    for r in ROUTES {
        let roles: Vec<&str> = r.op.roles().iter().map(|r| r.as_str()).collect();
        let mut params = Vec::new();
        for (name, example) in [
            ("id", "C-2026-0001"),
            ("name", "anna"),
            ("format", "radius-detail"),
            ("item", "1"),
        ] {
            if r.path.contains(&format!("{{{name}}}")) {
                params.push(json!({"name": name, "in": "path", "required": true,
                                   "schema": {"type": "string", "example": example}}));
            }
        }
        let op = json!({
            "operationId": r.op.as_str(),
            "summary": r.summary,
            "description": format!("Allowed roles: {}. Audited before any data is returned.", roles.join(", ")),
            "x-roles": roles,
            "parameters": params,
            "security": [{"bearer": []}],
            "responses": {
                "200": {"description": "OK", "content": {"application/json": {}}},
                "400": error_response("request.invalid, case.invalid: the message names the problem"),
                "401": error_response("auth.missing_token, auth.invalid_token, auth.revoked_token"),
                "403": error_response("auth.forbidden, case.four_eyes, case.out_of_scope"),
                "404": error_response("case.not_found"),
                "409": error_response("case.wrong_state, case.held_protected_identity, case.not_in_force"),
                "503": error_response("audit.*: the audit entry could not be written, so nothing is returned"),
            }
        });
        let mut op = op;
        if let Some(b) = request_body(r) {
            op["requestBody"] = b;
        }
        let entry = paths
            .entry(r.path.to_string())
            .or_insert_with(|| Value::Object(Map::new()));
        entry[r.method.to_ascii_lowercase()] = op;
    }
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "tdr disclosure API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Cases, four-eyes approval, audited lookups and disclosure reports. \
                            Every timestamp carries a UTC offset (RFC 3339)."
        },
        "paths": paths,
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": {
                "Error": {"type": "object", "required": ["error"], "properties": {"error": {
                    "type": "object", "required": ["code", "message"],
                    "properties": {"code": {"type": "string"}, "message": {"type": "string"},
                                   "problems": {"type": "array", "items": {"type": "object",
                                       "properties": {"field": {"type": "string"}, "reason": {"type": "string"}}}}}}}},
                "NewCase": {"type": "object",
                    "required": ["request_type", "authority", "case_number", "scope"],
                    "properties": {
                        "request_type": {"enum": ["ipred", "law_enforcement", "preservation", "abuse",
                                                  "access", "restriction", "erasure", "rectification"]},
                        "authority": {"type": "string"}, "case_number": {"type": "string"},
                        "decision_date": {"type": "string", "format": "date"},
                        "legal_force_date": {"type": "string", "format": "date"},
                        "deadline": {"type": "string", "format": "date"},
                        "order_sha256": {"type": "string", "pattern": "^[0-9a-fA-F]{64}$"},
                        "notes": {"type": "string"},
                        "preserve_until": {"type": "string", "format": "date"},
                        "applicant": {"type": "string",
                            "description": "IPRED only: the rights holder who applied for the order"},
                        "restrict_until": {"type": "string", "format": "date",
                            "description": "restriction only (required): the restriction ends with this day; its reason goes in notes"},
                        "correction": {"type": "object", "additionalProperties": false,
                            "description": "rectification only (required): the corrected fields, at least one",
                            "properties": {"name": {"type": "string"}, "street": {"type": "string"},
                                           "postal_code": {"type": "string"}, "city": {"type": "string"},
                                           "personal_number": {"type": "string"},
                                           "customer_id": {"type": "string"}}},
                        "scope": {"type": "array", "items": {"$ref": "#/components/schemas/ScopeItem"}}}},
                "ScopeItem": {"type": "object", "properties": {
                    "addr": {"type": "string"}, "port": {"type": "integer"},
                    "at": {"type": "string", "format": "date-time"},
                    "from": {"type": "string", "format": "date-time"},
                    "to": {"type": "string", "format": "date-time"},
                    "number": {"type": "string"},
                    "subscriber": {"type": "string",
                        "description": "a data subject's request (access, restriction, erasure, rectification): its only item"}}},
            }
        }
    })
}
