//! A session's lanes (SPEC §9), one per conversation it follows: what arrives for it (hand-offs, the event
//! of a forwarded frame, a catch-up poke) is handled strictly one at a time and in arrival
//! order, and waits while a join or a forwarded frame of that conversation is under way.
//! So a joining socket's position is stored before anything newer is delivered to it, and
//! the sender of a frame gets its `ack` before the event the frame made.
//!
//! Memory only: an object is evicted only when idle, and then no lane holds anything.

use std::cell::RefCell;
use std::collections::VecDeque;

use super::session::Delivery;

#[derive(Default)]
struct Lane {
    conversation_id: String,
    /// Joins and forwarded frames under way.
    busy: usize,
    /// A delivery is being handled (it may be waiting on a pull).
    draining: bool,
    waiting: VecDeque<Delivery>,
}

#[derive(Default)]
pub struct Lanes {
    lanes: RefCell<Vec<Lane>>,
}

impl Lanes {
    fn with<R>(&self, conv: &str, f: impl FnOnce(&mut Lane) -> R) -> R {
        let mut lanes = self.lanes.borrow_mut();
        let i = match lanes.iter().position(|l| l.conversation_id == conv) {
            Some(i) => i,
            None => {
                lanes.push(Lane {
                    conversation_id: conv.to_string(),
                    ..Lane::default()
                });
                lanes.len() - 1
            }
        };
        let r = f(&mut lanes[i]);
        let l = &lanes[i];
        if l.busy == 0 && !l.draining && l.waiting.is_empty() {
            lanes.swap_remove(i);
        }
        r
    }

    /// A join or a forwarded frame starts: deliveries for `conv` wait until it ends.
    pub fn enter(&self, conv: &str) {
        self.with(conv, |l| l.busy += 1);
    }

    /// Queues a delivery. True when nothing is under way, so the caller should drain now.
    pub fn push(&self, delivery: Delivery) -> bool {
        let conv = delivery.conversation_id.clone();
        self.with(&conv, |l| {
            l.waiting.push_back(delivery);
            l.busy == 0 && !l.draining
        })
    }

    /// Ends a join or forwarded frame. True when the caller should drain now.
    pub fn leave(&self, conv: &str) -> bool {
        self.with(conv, |l| {
            l.busy = l.busy.saturating_sub(1);
            l.busy == 0 && !l.draining
        })
    }

    /// Whether `conv` has a join or forwarded frame under way.
    pub fn busy(&self, conv: &str) -> bool {
        self.lanes
            .borrow()
            .iter()
            .any(|l| l.conversation_id == conv && l.busy > 0)
    }

    /// Takes the next delivery to handle, marking the lane as draining; `None` (and the
    /// lane no longer draining) when it is empty or a join or frame is under way again.
    pub fn next(&self, conv: &str) -> Option<Delivery> {
        self.with(conv, |l| {
            let next = match l.busy {
                0 => l.waiting.pop_front(),
                _ => None,
            };
            l.draining = next.is_some();
            next
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(conv: &str, last_seq: u64) -> Delivery {
        Delivery {
            conversation_id: conv.into(),
            last_seq,
            events: vec![],
        }
    }

    #[test]
    fn deliveries_wait_while_a_join_is_under_way() {
        let lanes = Lanes::default();
        lanes.enter("c");
        assert!(!lanes.push(d("c", 1)), "waits for the join");
        assert!(
            lanes.push(d("other", 1)),
            "another conversation does not wait"
        );
        assert_eq!(lanes.next("c").map(|x| x.last_seq), None);
        assert!(lanes.leave("c"), "the join's end drains");
        assert_eq!(lanes.next("c").map(|x| x.last_seq), Some(1));
        assert!(!lanes.push(d("c", 2)), "one drainer at a time");
        assert_eq!(lanes.next("c").map(|x| x.last_seq), Some(2));
        assert_eq!(lanes.next("c").map(|x| x.last_seq), None);
        assert!(lanes.push(d("c", 3)), "an idle lane drains at once");
    }

    #[test]
    fn a_frame_entering_mid_drain_stops_the_drain_until_it_ends() {
        let lanes = Lanes::default();
        lanes.push(d("c", 1));
        lanes.push(d("c", 2));
        assert_eq!(lanes.next("c").map(|x| x.last_seq), Some(1));
        lanes.enter("c");
        assert_eq!(
            lanes.next("c").map(|x| x.last_seq),
            None,
            "the frame goes first"
        );
        assert!(lanes.busy("c"));
        assert!(lanes.leave("c"));
        assert_eq!(lanes.next("c").map(|x| x.last_seq), Some(2));
    }
}

/// Frames of one session socket, handled strictly in the order they came: a frame that
/// arrives while an earlier one of the same socket waits on a room is queued behind it (so
/// a `leave_conversation` right after a `join_conversation` is answered after `joined`).
pub struct Turns<T> {
    queues: RefCell<Vec<(u64, VecDeque<T>)>>,
}

impl<T> Default for Turns<T> {
    fn default() -> Self {
        Turns {
            queues: RefCell::new(Vec::new()),
        }
    }
}

impl<T> Turns<T> {
    /// Queues `item` for socket `sid`. `Some(item)` back: nothing of that socket is under
    /// way, so the caller handles it now (and then asks [`Turns::next`]).
    pub fn arrive(&self, sid: u64, item: T) -> Option<T> {
        let mut queues = self.queues.borrow_mut();
        match queues.iter_mut().find(|(s, _)| *s == sid) {
            Some((_, q)) => {
                q.push_back(item);
                None
            }
            None => {
                queues.push((sid, VecDeque::new()));
                Some(item)
            }
        }
    }

    /// The socket's next queued item; `None` ends its turn.
    pub fn next(&self, sid: u64) -> Option<T> {
        let mut queues = self.queues.borrow_mut();
        let i = queues.iter().position(|(s, _)| *s == sid)?;
        let next = queues[i].1.pop_front();
        if next.is_none() {
            queues.swap_remove(i);
        }
        next
    }
}

#[cfg(test)]
mod turn_tests {
    use super::Turns;

    #[test]
    fn a_socket_s_frames_are_handled_one_at_a_time_in_order() {
        let turns = Turns::default();
        assert_eq!(turns.arrive(1, "join"), Some("join"), "idle: handle now");
        assert_eq!(turns.arrive(1, "leave"), None, "queued behind the join");
        assert_eq!(
            turns.arrive(2, "other"),
            Some("other"),
            "another socket is not held"
        );
        assert_eq!(turns.arrive(1, "say"), None);
        assert_eq!(turns.next(1), Some("leave"));
        assert_eq!(turns.next(1), Some("say"));
        assert_eq!(turns.next(1), None, "the turn ends");
        assert_eq!(turns.arrive(1, "again"), Some("again"));
    }
}
