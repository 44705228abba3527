//! Synchronous storage transactions, which workers-rs 0.8 does not bind: the statements
//! run inside one commit together or not at all.

use worker::js_sys;
use worker::wasm_bindgen::prelude::*;
use worker::wasm_bindgen::JsCast;
use worker::Storage;

#[wasm_bindgen(wasm_bindgen = worker::wasm_bindgen, js_sys = worker::js_sys)]
extern "C" {
    /// `DurableObjectStorage` for the one method workers-rs 0.8 does not bind.
    #[wasm_bindgen(extends = js_sys::Object)]
    type TransactionalStorage;

    /// Runs the callback in a SQLite transaction; when it throws, every statement it ran
    /// is rolled back and the exception is rethrown.
    #[wasm_bindgen(method, catch, js_name = transactionSync)]
    fn transaction_sync(
        this: &TransactionalStorage,
        callback: &ScopedClosure<'_, dyn FnMut() -> Result<(), JsValue>>,
    ) -> Result<JsValue, JsValue>;
}

/// Runs `work` atomically: when it fails, none of its statements took effect.
pub fn atomically<T>(
    storage: &Storage,
    work: impl FnOnce() -> worker::Result<T>,
) -> worker::Result<T> {
    let mut work = Some(work);
    let mut result = None;
    let mut run = || -> Result<(), JsValue> {
        let outcome = work.take().map(|w| w());
        let failed = matches!(outcome, Some(Err(_)) | None);
        result = outcome;
        // Throwing is what makes the runtime roll back; the Rust error is kept in `result`.
        if failed {
            Err(JsValue::from_str("transaction rolled back"))
        } else {
            Ok(())
        }
    };
    let callback = ScopedClosure::borrow_mut_aborting(&mut run);
    let raw: &TransactionalStorage = storage.as_raw().unchecked_ref();
    let thrown = raw.transaction_sync(&callback).err();
    drop(callback);
    match (result, thrown) {
        (Some(Err(e)), _) => Err(e),
        (Some(Ok(v)), None) => Ok(v),
        (_, Some(js)) => Err(js.into()),
        (None, None) => Err(worker::Error::RustError(
            "transactionSync did not run its callback".into(),
        )),
    }
}
