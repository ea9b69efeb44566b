//! DynamoDB and SQS adapters of the domain ports.
