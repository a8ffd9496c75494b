//! Which Task resources name a function (and which function) or the HTTP
//! Task.
//!
//! Owns the parsing of a Task state's `Resource` ([`TaskResource`]) and of
//! Lambda's `FunctionName` forms ([`FunctionRef`]). Pure: no IO, no lookup in
//! the config (the invoker decides whether the function exists). It must not
//! decide how a function runs.
//!
//! AWS (Lambda `Invoke`, `FunctionName`): a name (`my-function`), a name with
//! a qualifier (`my-function:v1`), a partial ARN
//! (`123456789012:function:my-function`) or a full ARN
//! (`arn:aws:lambda:us-west-2:123456789012:function:my-function`), each
//! optionally ending in `:QUALIFIER` (a version, an alias or `$LATEST`).

use std::fmt;

/// The region of ARNs stepgate makes itself (same as the state machine ARNs
/// the binary makes: `arn:aws:states:local:000000000000:...`).
pub const LOCAL_REGION: &str = "local";
/// The account of ARNs stepgate makes itself.
pub const LOCAL_ACCOUNT: &str = "000000000000";

/// What a Task state's `Resource` asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TaskResource {
    /// `arn:aws:states:::lambda:invoke`: `Parameters` hold `FunctionName`
    /// and `Payload`; the result is Lambda's `Invoke` response.
    LambdaInvoke,
    /// `arn:aws:states:::lambda:invoke.waitForTaskToken` (callbacks).
    LambdaInvokeWaitForTaskToken,
    /// `arn:aws:states:::http:invoke`: the HTTP Task; `Parameters` describe
    /// the request (AWS, "Call HTTPS APIs in Step Functions workflows").
    HttpInvoke,
    /// `arn:aws:lambda:REGION:ACCOUNT:function:NAME[:QUALIFIER]`: the
    /// effective parameters are the event, the result is the payload.
    LambdaFunction(FunctionRef),
    /// Anything else (other integrations, activities, malformed ARNs).
    Other,
}

/// Parses a Task state's `Resource`.
pub fn parse_resource(resource: &str) -> TaskResource {
    let parts: Vec<&str> = resource.split(':').collect();
    match parts.as_slice() {
        ["arn", _partition, "states", "", "", "lambda", "invoke"] => TaskResource::LambdaInvoke,
        [
            "arn",
            _partition,
            "states",
            "",
            "",
            "lambda",
            "invoke.waitForTaskToken",
        ] => TaskResource::LambdaInvokeWaitForTaskToken,
        ["arn", _partition, "states", "", "", "http", "invoke"] => TaskResource::HttpInvoke,
        ["arn", _partition, "lambda", ..] => match FunctionRef::parse(resource) {
            Ok(function) => TaskResource::LambdaFunction(function),
            Err(_) => TaskResource::Other,
        },
        _ => TaskResource::Other,
    }
}

/// A function as a `FunctionName` or a Lambda ARN names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FunctionRef {
    /// The function's name: the key under `[functions]`.
    pub name: String,
    /// `$LATEST`, a version or an alias. stepgate has one version of each
    /// function, so every qualifier runs it.
    pub qualifier: Option<String>,
    /// From the ARN, or `aws`.
    pub partition: String,
    /// From the ARN, or [`LOCAL_REGION`].
    pub region: String,
    /// From the ARN, or [`LOCAL_ACCOUNT`].
    pub account: String,
}

/// A `FunctionName` that is none of Lambda's accepted forms.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "FunctionName '{0}' is not a function name, a name with a qualifier, a partial ARN (ACCOUNT:function:NAME) or a full ARN (arn:aws:lambda:REGION:ACCOUNT:function:NAME)"
)]
pub struct InvalidFunctionName(pub String);

impl FunctionRef {
    /// Parses any of Lambda's `FunctionName` forms.
    pub fn parse(text: &str) -> Result<Self, InvalidFunctionName> {
        let invalid = || InvalidFunctionName(text.to_owned());
        let parts: Vec<&str> = text.split(':').collect();
        let (partition, region, account, name, qualifier) = match parts.as_slice() {
            [name] => ("aws", LOCAL_REGION, LOCAL_ACCOUNT, *name, None),
            [name, qualifier] => ("aws", LOCAL_REGION, LOCAL_ACCOUNT, *name, Some(*qualifier)),
            [account, "function", name] => ("aws", LOCAL_REGION, *account, *name, None),
            [account, "function", name, qualifier] => {
                ("aws", LOCAL_REGION, *account, *name, Some(*qualifier))
            }
            [
                "arn",
                partition,
                "lambda",
                region,
                account,
                "function",
                name,
            ] => (*partition, *region, *account, *name, None),
            [
                "arn",
                partition,
                "lambda",
                region,
                account,
                "function",
                name,
                qualifier,
            ] => (*partition, *region, *account, *name, Some(*qualifier)),
            _ => return Err(invalid()),
        };
        // AWS: names are letters, digits, hyphens and underscores (1-64);
        // qualifiers also allow `$` (for `$LATEST`).
        let name_ok = !name.is_empty()
            && name.len() <= 64
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        let qualifier_ok = qualifier.is_none_or(|q| {
            !q.is_empty()
                && q.len() <= 128
                && q.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '$')
        });
        let segment_ok = |s: &str| {
            !s.is_empty()
                && s.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        };
        if !name_ok
            || !qualifier_ok
            || !segment_ok(partition)
            || !segment_ok(region)
            || !segment_ok(account)
        {
            return Err(invalid());
        }
        Ok(Self {
            name: name.to_owned(),
            qualifier: qualifier.map(str::to_owned),
            partition: partition.to_owned(),
            region: region.to_owned(),
            account: account.to_owned(),
        })
    }
}

/// The function's ARN, with its qualifier if it had one (as Lambda's
/// `Function not found: ...` message shows it).
impl fmt::Display for FunctionRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "arn:{}:lambda:{}:{}:function:{}",
            self.partition, self.region, self.account, self.name
        )?;
        if let Some(q) = &self.qualifier {
            write!(f, ":{q}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_function_name_form() {
        let f = FunctionRef::parse("sample-func").expect("name");
        assert_eq!(f.name, "sample-func");
        assert_eq!(f.qualifier, None);
        assert_eq!(
            f.to_string(),
            "arn:aws:lambda:local:000000000000:function:sample-func"
        );

        let f = FunctionRef::parse("sample-func:live").expect("name:alias");
        assert_eq!(
            (f.name.as_str(), f.qualifier.as_deref()),
            ("sample-func", Some("live"))
        );

        let f = FunctionRef::parse("123456789012:function:sample_func").expect("partial");
        assert_eq!(
            (f.name.as_str(), f.account.as_str()),
            ("sample_func", "123456789012")
        );

        let f = FunctionRef::parse("123456789012:function:f:$LATEST").expect("partial:q");
        assert_eq!(f.qualifier.as_deref(), Some("$LATEST"));

        let arn = "arn:aws:lambda:us-east-1:123456789012:function:sample-func";
        let f = FunctionRef::parse(arn).expect("full");
        assert_eq!(f.name, "sample-func");
        assert_eq!(f.region, "us-east-1");
        assert_eq!(f.to_string(), arn);

        let f = FunctionRef::parse(&format!("{arn}:7")).expect("full:version");
        assert_eq!(f.qualifier.as_deref(), Some("7"));
        assert_eq!(f.to_string(), format!("{arn}:7"));
    }

    #[test]
    fn malformed_function_names_are_refused() {
        for bad in [
            "",
            "a:b:c",
            "has space",
            "arn:aws:lambda:us-east-1:123456789012:layer:x",
            "arn:aws:lambda:us-east-1:123456789012:function:",
            "name:",
            "a/b",
            "arn:aws:s3:::bucket",
            "f:q:extra:more:parts:too:many:really",
        ] {
            assert!(FunctionRef::parse(bad).is_err(), "{bad:?}");
        }
        assert!(FunctionRef::parse(&"x".repeat(65)).is_err());
    }

    #[test]
    fn resources() {
        assert_eq!(
            parse_resource("arn:aws:states:::lambda:invoke"),
            TaskResource::LambdaInvoke
        );
        assert_eq!(
            parse_resource("arn:aws:states:::lambda:invoke.waitForTaskToken"),
            TaskResource::LambdaInvokeWaitForTaskToken
        );
        match parse_resource("arn:aws:lambda:eu-west-1:123456789012:function:f:$LATEST") {
            TaskResource::LambdaFunction(f) => {
                assert_eq!(
                    (f.name.as_str(), f.qualifier.as_deref()),
                    ("f", Some("$LATEST"))
                );
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(
            parse_resource("arn:aws:states:::http:invoke"),
            TaskResource::HttpInvoke
        );
        assert_eq!(
            parse_resource("arn:aws-cn:states:::http:invoke"),
            TaskResource::HttpInvoke
        );
        for other in [
            "arn:aws:states:::http:invoke.waitForTaskToken",
            "arn:aws:states:us-east-1::http:invoke",
            "arn:aws:states:::sqs:sendMessage",
            "arn:aws:states:::lambda:invoke.sync",
            "arn:aws:states:us-east-1:123456789012:activity:a",
            "arn:aws:lambda:us-east-1:123456789012:function",
            "lambda",
        ] {
            assert_eq!(parse_resource(other), TaskResource::Other, "{other}");
        }
    }
}
