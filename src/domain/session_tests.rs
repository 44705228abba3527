//! The session's per-conversation ordering and gap rule, and the `conversation_id` tag.

use super::*;

fn durable(seq: u64) -> Event {
    Event {
        seq: Some(seq),
        frame: format!("e{seq}"),
    }
}

fn typing() -> Event {
    Event {
        seq: None,
        frame: "typing".into(),
    }
}

fn sent(batch: &[Event], plan: &Plan) -> Vec<String> {
    plan.send.iter().map(|i| batch[*i].frame.clone()).collect()
}

#[test]
fn the_next_events_are_sent_in_order() {
    let batch = [durable(4), durable(5), durable(6)];
    let p = plan(3, &batch, 6);
    assert_eq!(sent(&batch, &p), ["e4", "e5", "e6"]);
    assert_eq!((p.position, p.gap), (6, false));
}

#[test]
fn events_already_delivered_are_dropped() {
    // A pull answered 4..=6 while the hand-off of 5..=7 was on its way.
    let batch = [durable(5), durable(6), durable(7)];
    let p = plan(6, &batch, 7);
    assert_eq!(sent(&batch, &p), ["e7"]);
    assert_eq!((p.position, p.gap), (7, false));
}

#[test]
fn a_hole_stops_delivery_until_the_pull() {
    // seq 5's hand-off was lost: 6 and 7 must wait, nothing newer goes out first.
    let batch = [durable(6), durable(7)];
    let p = plan(4, &batch, 7);
    assert!(p.send.is_empty());
    assert_eq!((p.position, p.gap), (4, true));
}

#[test]
fn delivery_stops_at_the_first_hole_inside_a_batch() {
    let batch = [durable(4), durable(6), durable(7)];
    let p = plan(3, &batch, 7);
    assert_eq!(sent(&batch, &p), ["e4"]);
    assert_eq!((p.position, p.gap), (4, true));
}

#[test]
fn a_room_ahead_of_the_batch_is_a_gap_at_the_tail() {
    // The last hand-off was lost and nothing came after it; a poke says the room is at 5.
    let p = plan(4, &[], 5);
    assert_eq!((p.position, p.gap), (4, true));
    assert!(!plan(5, &[], 5).gap);
}

#[test]
fn ephemeral_frames_go_out_in_their_place_even_behind_a_hole() {
    let batch = [durable(2), typing(), durable(4), typing()];
    let p = plan(1, &batch, 4);
    assert_eq!(sent(&batch, &p), ["e2", "typing", "typing"]);
    assert_eq!((p.position, p.gap), (2, true));
}

#[test]
fn pulled_events_then_the_waiting_batch_deliver_each_seq_once() {
    // What the shell does after a gap: the pulled events, then the batch that revealed it.
    let mut merged = vec![durable(5), durable(6), durable(7)];
    merged.extend([durable(6), durable(7), durable(8)]);
    let p = plan(4, &merged, 8);
    assert_eq!(sent(&merged, &p), ["e5", "e6", "e7", "e8"]);
    assert_eq!((p.position, p.gap), (8, false));
}

#[test]
fn the_tag_is_a_top_level_field_and_the_frame_stays_intact() {
    let frame = r#"{"type":"chat_message","seq":3,"message":{"conversation_id":"c1"}}"#;
    let tagged = tag(frame, "c1");
    assert_eq!(
        tagged,
        r#"{"conversation_id":"c1","type":"chat_message","seq":3,"message":{"conversation_id":"c1"}}"#
    );
    let v: serde_json::Value = serde_json::from_str(&tagged).unwrap();
    assert_eq!(v["conversation_id"], "c1");
    assert_eq!(v["seq"], 3);
    assert_eq!(tag("{}", "dm:a:b"), r#"{"conversation_id":"dm:a:b"}"#);
}

#[test]
fn the_join_limit_counts_only_new_conversations() {
    assert!(!over_join_limit(99, false, 100));
    assert!(over_join_limit(100, false, 100));
    assert!(
        !over_join_limit(100, true, 100),
        "a rejoin is not a new join"
    );
}
