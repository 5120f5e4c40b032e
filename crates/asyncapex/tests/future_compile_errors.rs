//! `#[future]` misuse is a compile error with a readable message.
#![allow(missing_docs)]

#[test]
fn future_arguments_must_be_owned_serde_types() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/compile_fail/*.rs");
}
