//! The in-memory store passes the conformance suite every backend runs.

use store::memory::MemoryStore;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn memory_store_conformance() {
    store::testkit::run_all(MemoryStore::new).await;
}
