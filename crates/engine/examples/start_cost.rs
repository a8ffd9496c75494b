//! CPU cost of one `StartExecution` in the engine alone (memory store, one
//! thread): what the webhook hot path pays between the gateway and the
//! store. `cargo run --release -p engine --example start_cost [N]`
use std::sync::Arc;
use std::time::Instant;

use engine::scheduler::{Engine, EngineClock, Limits, NoTasks, StartRequest};
use store::{NewStateMachine, StateMachineType, Store, memory::MemoryStore};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const SM: &str = "arn:aws:states:local:000000000000:stateMachine:bench";
const PAYLOAD: &str = r#"{"action": "opened", "repository": {"full_name": "octo/hello", "id": 1296269}, "sender": {"login": "octocat"}, "text": "it's \"quoted\" \\ and unicode é 日本"}"#;

fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(300_000);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async move {
        let store = MemoryStore::new();
        store
            .put_state_machine(NewStateMachine {
                arn: SM.into(),
                name: "bench".into(),
                definition: r#"{"StartAt":"Receive","States":{"Receive":{"Type":"Pass","Next":"SuccessState"},"SuccessState":{"Type":"Pass","End":true}}}"#.into(),
                machine_type: StateMachineType::Express,
                logging: "{}".into(),
                created: 0,
            })
            .await
            .expect("state machine");
        let engine = Engine::new(store, Arc::new(NoTasks), EngineClock::new(1_700_000_000_000), Limits::default(), 7);
        let t = Instant::now();
        for _ in 0..n {
            engine
                .start_execution(StartRequest {
                    state_machine_arn: SM.into(),
                    name: None,
                    input: Some(PAYLOAD.into()),
                })
                .await
                .expect("start");
        }
        let e = t.elapsed();
        println!("{n} starts: {:.2} µs/start", e.as_secs_f64() * 1e6 / n as f64);
    });
}
