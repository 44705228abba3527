//! Reads of D1 (the queryable copy) for the HTTP read API. A failure is logged for the
//! operator and answered 503.

use worker::wasm_bindgen::JsValue;
use worker::Env;

use crate::domain::errors::ApiError;

/// Runs one read on D1. A failure is logged for the operator and shown as 503.
pub async fn query<T: super::rows::FromRow>(
    env: &Env,
    sql: String,
    args: &[JsValue],
) -> Result<Vec<T>, ApiError> {
    let db = env.d1("DB")?;
    let statement = db.prepare(sql).bind(args)?;
    super::rows::d1(&statement).await.map_err(|e| {
        worker::console_error!("D1 read failed: {e}");
        ApiError::Unavailable
    })
}
