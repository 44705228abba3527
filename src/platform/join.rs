//! Waits for several futures at once (the hand-off to every subscriber, a session's device
//! counts to every room). A small replacement for `futures::future::join_all`, whose
//! general machinery costs the Wasm far more than objects need: they wait for at most a few
//! hundred requests, polled together until all are done.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

/// Runs every future to completion concurrently; results in the order given.
pub async fn all<F: Future>(futures: impl IntoIterator<Item = F>) -> Vec<F::Output> {
    let mut slots: Vec<Slot<F>> = futures
        .into_iter()
        .map(|f| Slot::Running(Box::pin(f)))
        .collect();
    std::future::poll_fn(move |cx: &mut Context<'_>| {
        let mut pending = false;
        for slot in slots.iter_mut() {
            if let Slot::Running(f) = slot {
                match f.as_mut().poll(cx) {
                    Poll::Ready(out) => *slot = Slot::Done(Some(out)),
                    Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            return Poll::Pending;
        }
        let outs = slots
            .iter_mut()
            .filter_map(|s| match s {
                Slot::Done(out) => out.take(),
                Slot::Running(_) => None,
            })
            .collect();
        Poll::Ready(outs)
    })
    .await
}

enum Slot<F: Future> {
    Running(Pin<Box<F>>),
    Done(Option<F::Output>),
}
