//! What Step Functions' Lambda integration returns: the `lambda:invoke`
//! response object and the error names and causes of failed invocations.
//!
//! Owns the AWS-facing texts and shapes, so they can be checked in one
//! place against AWS's. It must not run anything.
//!
//! The response shape is AWS's as Step Functions shows it for
//! `arn:aws:states:::lambda:invoke` (recorded executions in the wild, the
//! AWS docs' "Invoke an AWS Lambda function with Step Functions" page):
//! `ExecutedVersion`, `Payload`, `SdkHttpMetadata` (`AllHttpHeaders` with
//! list values, `HttpHeaders` with single values, `HttpStatusCode`),
//! `SdkResponseMetadata.RequestId`, `StatusCode`. The header set is the one
//! Lambda answers `Invoke` with.

use serde_json::{Map, Value, json};

use crate::command::InvokeError;
use crate::resource::FunctionRef;

/// A function's error could not be classified (crash, timeout, invalid or
/// oversized output). AWS: "Lambda.Unknown".
pub const LAMBDA_UNKNOWN: &str = "Lambda.Unknown";
/// No function with that name. AWS: `Lambda.ResourceNotFoundException`.
pub const LAMBDA_RESOURCE_NOT_FOUND: &str = "Lambda.ResourceNotFoundException";
/// `FunctionName` is malformed. Lambda answers `InvalidParameterValueException`
/// for bad `Invoke` parameters; that name is not in CDK's default retry
/// list, so a typo fails at once instead of being retried six times.
pub const LAMBDA_INVALID_PARAMETER_VALUE: &str = "Lambda.InvalidParameterValueException";
/// A function's result over the 6 MB limit (Lambda's own error type).
pub const FUNCTION_RESPONSE_SIZE_TOO_LARGE: &str = "Function.ResponseSizeTooLarge";

/// stepgate has one version of every function.
const EXECUTED_VERSION: &str = "$LATEST";

/// The `lambda:invoke` result: Lambda's `Invoke` response as Step Functions
/// shows it. `payload_bytes` is the payload's length as JSON text.
pub(crate) fn invoke_result(payload: Value, payload_bytes: usize, request_id: &str) -> Value {
    let now = jiff::Timestamp::now();
    let date = jiff::fmt::rfc2822::DateTimePrinter::new()
        .timestamp_to_rfc9110_string(&now)
        .unwrap_or_default();
    // X-Ray's trace id format: 1-<epoch seconds, 8 hex>-<96 random bits, 24 hex>.
    let random = uuid::Uuid::new_v4().simple().to_string();
    let trace = format!("root=1-{:08x}-{};sampled=0", now.as_second(), &random[..24]);
    let length = payload_bytes.to_string();
    // In the order Lambda sends them (AllHttpHeaders) ...
    let headers = [
        ("X-Amz-Executed-Version", EXECUTED_VERSION),
        ("x-amzn-Remapped-Content-Length", "0"),
        ("Connection", "keep-alive"),
        ("x-amzn-RequestId", request_id),
        ("Content-Length", length.as_str()),
        ("Date", date.as_str()),
        ("X-Amzn-Trace-Id", trace.as_str()),
        ("Content-Type", "application/json"),
    ];
    let all: Map<String, Value> = headers
        .iter()
        .map(|(k, v)| ((*k).to_owned(), json!([v])))
        .collect();
    // ... and sorted case-insensitively (the Java SDK's map), as AWS shows
    // HttpHeaders.
    let mut sorted = headers;
    sorted.sort_by_key(|(k, _)| k.to_ascii_lowercase());
    let single: Map<String, Value> = sorted
        .iter()
        .map(|(k, v)| ((*k).to_owned(), json!(v)))
        .collect();
    json!({
        "ExecutedVersion": EXECUTED_VERSION,
        "Payload": payload,
        "SdkHttpMetadata": {
            "AllHttpHeaders": all,
            "HttpHeaders": single,
            "HttpStatusCode": 200
        },
        "SdkResponseMetadata": { "RequestId": request_id },
        "StatusCode": 200
    })
}

/// `Lambda.ResourceNotFoundException`'s cause, as the AWS SDK for Java
/// (which Step Functions uses) formats a service error.
pub(crate) fn not_found_cause(function: &FunctionRef, request_id: &str) -> String {
    format!(
        "Function not found: {function} (Service: AWSLambda; Status Code: 404; Error Code: ResourceNotFoundException; Request ID: {request_id}; Proxy: null)"
    )
}

/// `Lambda.InvalidParameterValueException`'s cause.
pub(crate) fn invalid_name_cause(message: &str, request_id: &str) -> String {
    format!(
        "{message} (Service: AWSLambda; Status Code: 400; Error Code: InvalidParameterValueException; Request ID: {request_id}; Proxy: null)"
    )
}

/// The task failure for a failed invocation: a function error keeps its
/// own name and its error payload as the cause (AWS, `lambda:invoke` and
/// Lambda ARNs alike); the rest is `Lambda.Unknown`.
pub(crate) fn failure(error: InvokeError) -> asl::failure::Failure {
    use asl::failure::Failure;
    match error {
        InvokeError::Function {
            error_type,
            payload,
        } => Failure::new(error_type, payload),
        InvokeError::Unknown(cause) => Failure::new(LAMBDA_UNKNOWN, cause),
        InvokeError::TaskTimedOut => Failure {
            error: Some(asl::failure::STATES_TIMEOUT.to_owned()),
            cause: None,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invoke_result_has_aws_keys_and_headers() {
        let v = invoke_result(json!({"a": 1}), 7, "req-1");
        let keys: Vec<&str> = v
            .as_object()
            .expect("object")
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(
            keys,
            [
                "ExecutedVersion",
                "Payload",
                "SdkHttpMetadata",
                "SdkResponseMetadata",
                "StatusCode"
            ]
        );
        assert_eq!(v["Payload"], json!({"a": 1}));
        assert_eq!(v["StatusCode"], 200);
        assert_eq!(v["SdkResponseMetadata"]["RequestId"], "req-1");
        let meta = &v["SdkHttpMetadata"];
        assert_eq!(meta["HttpStatusCode"], 200);
        assert_eq!(meta["HttpHeaders"]["x-amzn-RequestId"], "req-1");
        assert_eq!(meta["HttpHeaders"]["Content-Length"], "7");
        assert_eq!(
            meta["AllHttpHeaders"]["Content-Type"],
            json!(["application/json"])
        );
        let sorted: Vec<&String> = meta["HttpHeaders"]
            .as_object()
            .expect("headers")
            .keys()
            .collect();
        assert_eq!(
            sorted,
            [
                "Connection",
                "Content-Length",
                "Content-Type",
                "Date",
                "X-Amz-Executed-Version",
                "x-amzn-Remapped-Content-Length",
                "x-amzn-RequestId",
                "X-Amzn-Trace-Id"
            ]
        );
        let date = meta["HttpHeaders"]["Date"].as_str().expect("date");
        assert!(date.ends_with(" GMT"), "{date}");
    }

    #[test]
    fn not_found_cause_names_the_arn() {
        let f =
            FunctionRef::parse("arn:aws:lambda:us-east-1:123456789012:function:nope").expect("arn");
        assert_eq!(
            not_found_cause(&f, "r-1"),
            "Function not found: arn:aws:lambda:us-east-1:123456789012:function:nope (Service: AWSLambda; Status Code: 404; Error Code: ResourceNotFoundException; Request ID: r-1; Proxy: null)"
        );
    }
}
