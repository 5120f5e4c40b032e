// A #[future] argument must be a serde type: this must not compile.
struct Connection;

#[asyncapex::future]
async fn use_connection(conn: Connection) {
    let _ = conn;
}

fn main() {}
