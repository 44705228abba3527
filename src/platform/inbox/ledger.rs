//! The key ledger of `POST /api/notifications`: a `UserInbox` instance under a reserved name
//! (`domain::inbox::ledger_name`) that records the request's `Idempotency-Key` once for the
//! whole request, marked in progress while the inboxes are written (a concurrent repeat gets
//! 409 instead of a second fan-out).

use worker::{Request, Response};

use crate::domain::errors::ApiError;
use crate::platform::gateway::notify::{check, fan_out};
use crate::platform::internal::IDEMPOTENCY;
use crate::platform::object::core::Core;
use crate::platform::object::idempotency;
use crate::platform::runtime::now_ms;

pub async fn handle(core: &Core, req: &mut Request) -> Result<Response, ApiError> {
    let key = req.headers().get(IDEMPOTENCY)?;
    let body = req.text().await?;
    let checked = check(&body)?;
    let print = idempotency::fingerprint(&body);
    let now = now_ms();
    core.ensure_written()?;
    let answer = idempotency::once(&core.sql(), key.as_deref(), &print, now, || {
        fan_out(&core.env, &checked, key.as_deref(), &print)
    })
    .await;
    core.trim_later(now).await;
    answer
}
