//! Moves the messages parked in the dispatch DLQ back to the dispatch queue, after an outage or
//! once the data that broke a rule is fixed. Each message keeps its body and message group.
//!
//! ```sh
//! dispatch-redrive --dlq-url "$DISPATCH_DLQ_URL" --queue-url "$DISPATCH_QUEUE_URL" [--max 100]
//! ```
//! (The URLs default to those environment variables.) AWS credentials and region come from the
//! usual environment / profile; `AWS_ENDPOINT_URL` points it at a local SQS.

use std::process::ExitCode;

fn usage() -> ExitCode {
    eprintln!("usage: dispatch-redrive [--dlq-url URL] [--queue-url URL] [--max N]");
    ExitCode::from(2)
}

#[tokio::main]
async fn main() -> ExitCode {
    let mut dlq = std::env::var("DISPATCH_DLQ_URL").ok();
    let mut queue = std::env::var("DISPATCH_QUEUE_URL").ok();
    let mut max: Option<usize> = None;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match (a.as_str(), args.next()) {
            ("--dlq-url", Some(v)) => dlq = Some(v),
            ("--queue-url", Some(v)) => queue = Some(v),
            ("--max", Some(v)) => match v.parse() {
                Ok(n) => max = Some(n),
                Err(_) => return usage(),
            },
            _ => return usage(),
        }
    }
    let (Some(dlq), Some(queue)) = (dlq, queue) else {
        return usage();
    };
    let sdk = aws_adapters::sdk_config().await;
    let client = aws_sdk_sqs::Client::new(&sdk);
    match aws_adapters::dispatch_queue::redrive(&client, &dlq, &queue, max).await {
        Ok(n) => {
            println!("moved {n} message(s) from the DLQ back to the dispatch queue");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("redrive stopped: {e}");
            ExitCode::FAILURE
        }
    }
}
