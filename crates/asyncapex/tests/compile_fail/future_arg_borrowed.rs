// A #[future] argument is stored until the future runs, so it cannot borrow.
#[asyncapex::future]
async fn greet(name: &str) {
    let _ = name;
}

fn main() {}
