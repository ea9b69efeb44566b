//! Shared test support.

pub mod aws_env;
pub mod contract;
pub mod lambda_runtime_api;
pub mod lambda_stack;
pub mod sam_template;
pub mod schema;
pub mod sqs_play;
