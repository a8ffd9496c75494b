//! Definition-time checks of a Task state's `Resource`.
//!
//! AWS refuses a `Resource` that is not an ARN ("Value is not a valid resource
//! ARN"), an optimized integration it does not know, or an integration pattern
//! (`.sync`, `.waitForTaskToken`) the service does not offer ("The resource
//! provided ... is not recognized ..."), and in Express state machines every
//! `.sync`/`.waitForTaskToken` pattern. Only combinations documented in AWS's
//! optimized-integrations table are refused: a service missing from the table
//! is accepted, because refusing a valid definition is worse than accepting
//! one AWS would refuse.

use crate::diagnostic::Diagnostics;

/// The integration pattern suffix of a service-integration resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Pattern {
    /// Request Response (no suffix).
    RequestResponse,
    /// `.sync`.
    Sync,
    /// `.sync:2` (only `states:startExecution`).
    Sync2,
    /// `.waitForTaskToken`.
    WaitForTaskToken,
}

/// What an optimized integration offers: `.sync`, `.waitForTaskToken`, and
/// (when the list is short and stable) the only APIs it has.
struct Service {
    name: &'static str,
    sync: bool,
    token: bool,
    apis: Option<&'static [&'static str]>,
}

/// AWS's "Supported Optimized integrations" table (Step Functions developer
/// guide), plus `aws-sdk` (SDK integrations: callback but never `.sync`).
const SERVICES: &[Service] = &[
    Service {
        name: "apigateway",
        sync: false,
        token: true,
        apis: Some(&["invoke"]),
    },
    Service {
        name: "athena",
        sync: true,
        token: false,
        apis: None,
    },
    Service {
        name: "batch",
        sync: true,
        token: false,
        apis: Some(&["submitJob"]),
    },
    Service {
        name: "bedrock",
        sync: true,
        token: true,
        apis: None,
    },
    Service {
        name: "codebuild",
        sync: true,
        token: false,
        apis: None,
    },
    Service {
        name: "dynamodb",
        sync: false,
        token: false,
        apis: Some(&["getItem", "putItem", "updateItem", "deleteItem"]),
    },
    Service {
        name: "ecs",
        sync: true,
        token: true,
        apis: Some(&["runTask"]),
    },
    Service {
        name: "eks",
        sync: true,
        token: true,
        apis: None,
    },
    Service {
        name: "elasticmapreduce",
        sync: true,
        token: false,
        apis: None,
    },
    Service {
        name: "emr-containers",
        sync: true,
        token: false,
        apis: None,
    },
    Service {
        name: "emr-serverless",
        sync: true,
        token: false,
        apis: None,
    },
    Service {
        name: "events",
        sync: false,
        token: true,
        apis: Some(&["putEvents"]),
    },
    Service {
        name: "glue",
        sync: true,
        token: false,
        apis: Some(&["startJobRun"]),
    },
    Service {
        name: "databrew",
        sync: true,
        token: false,
        apis: None,
    },
    Service {
        name: "lambda",
        sync: false,
        token: true,
        apis: Some(&["invoke"]),
    },
    Service {
        name: "mediaconvert",
        sync: true,
        token: false,
        apis: None,
    },
    Service {
        name: "sagemaker",
        sync: true,
        token: false,
        apis: None,
    },
    Service {
        name: "sns",
        sync: false,
        token: true,
        apis: Some(&["publish"]),
    },
    Service {
        name: "sqs",
        sync: false,
        token: true,
        apis: Some(&["sendMessage"]),
    },
    Service {
        name: "states",
        sync: true,
        token: true,
        apis: Some(&["startExecution"]),
    },
    Service {
        name: "aws-sdk",
        sync: false,
        token: true,
        apis: None,
    },
];

/// Checks `resource` (at `location`, e.g. `/States/Foo/Resource`).
pub(super) fn check(resource: &str, location: &str, express: bool, diags: &mut Diagnostics) {
    let parts: Vec<&str> = resource.splitn(6, ':').collect();
    let [arn, partition, service, region, account, rest] = parts.as_slice() else {
        diags.schema(location, "Value is not a valid resource ARN");
        return;
    };
    if *arn != "arn" || partition.is_empty() || service.is_empty() || rest.is_empty() {
        diags.schema(location, "Value is not a valid resource ARN");
        return;
    }
    if *service != "states" {
        return;
    }
    if region.is_empty() && account.is_empty() {
        let (integration, pattern) = split_pattern(rest);
        if !recognized(integration, pattern) {
            diags.schema(
                location,
                format!(
                    "The resource provided {resource} is not recognized. The value is not a valid resource ARN, or the resource is not available in this region."
                ),
            );
            return;
        }
        if express {
            match pattern {
                Pattern::Sync | Pattern::Sync2 => {
                    diags.schema(location, "Express state machine does not support '.sync' service integration")
                }
                // AWS's text really ends with a space (recorded twice).
                Pattern::WaitForTaskToken => diags
                    .schema(location, "Express state machine does not support '.waitForTaskToken' service integration "),
                Pattern::RequestResponse => {}
            }
        }
    } else if express && rest.starts_with("activity:") {
        // Wording from LocalStack's Express analyser; no AWS recording.
        diags.schema(
            location,
            "Express state machine does not support Activity ARN",
        );
    }
}

fn split_pattern(integration: &str) -> (&str, Pattern) {
    if let Some(base) = integration.strip_suffix(".sync:2") {
        (base, Pattern::Sync2)
    } else if let Some(base) = integration.strip_suffix(".sync") {
        (base, Pattern::Sync)
    } else if let Some(base) = integration.strip_suffix(".waitForTaskToken") {
        (base, Pattern::WaitForTaskToken)
    } else {
        (integration, Pattern::RequestResponse)
    }
}

fn recognized(integration: &str, pattern: Pattern) -> bool {
    let (service, api) = integration.split_once(':').unwrap_or((integration, ""));
    if service.is_empty() || api.is_empty() {
        return false;
    }
    let Some(known) = SERVICES.iter().find(|s| s.name == service) else {
        return true;
    };
    let pattern_ok = match pattern {
        Pattern::RequestResponse => true,
        Pattern::Sync => known.sync,
        Pattern::Sync2 => service == "states",
        Pattern::WaitForTaskToken => known.token,
    };
    if !pattern_ok {
        return false;
    }
    match known.apis {
        Some(apis) => apis.contains(&api),
        // `aws-sdk:<service>:<action>`: both parts must be there.
        None if service == "aws-sdk" => api
            .split_once(':')
            .is_some_and(|(s, a)| !s.is_empty() && !a.is_empty()),
        None => true,
    }
}

#[cfg(test)]
mod tests {
    use super::check;
    use crate::diagnostic::Diagnostics;

    fn messages(resource: &str, express: bool) -> Vec<String> {
        let mut d = Diagnostics::new();
        check(resource, "/States/T/Resource", express, &mut d);
        d.into_vec().into_iter().map(|d| d.message).collect()
    }

    #[test]
    fn accepts_common_resources() {
        for r in [
            "arn:aws:states:::lambda:invoke",
            "arn:aws:states:::lambda:invoke.waitForTaskToken",
            "arn:aws:lambda:us-east-1:123456789012:function:f",
            "arn:aws:states:us-east-1:123456789012:activity:a",
            "arn:aws:states:::states:startExecution.sync:2",
            "arn:aws:states:::aws-sdk:s3:getObject",
            "arn:aws:states:::dynamodb:getItem",
            "arn:aws-cn:states:::sqs:sendMessage.waitForTaskToken",
            "arn:aws:states:::somenewservice:doThing.sync",
        ] {
            assert!(messages(r, false).is_empty(), "{r}");
        }
    }

    #[test]
    fn refuses_unknown_integrations() {
        for r in [
            "arn:aws:states:::dynamodb:query",
            "arn:aws:states:::lambda:invoke.sync",
            "arn:aws:states:::dynamodb:getItem.waitForTaskToken",
            "arn:aws:states:::sns:publish.sync:2",
            "arn:aws:states:::aws-sdk:s3",
            "arn:aws:states:::lambda",
            "arn:aws:states::::invoke",
        ] {
            let m = messages(r, false);
            assert_eq!(m.len(), 1, "{r}");
            assert!(
                m[0].starts_with(&format!("The resource provided {r} is not recognized.")),
                "{r}"
            );
        }
    }

    #[test]
    fn refuses_non_arns() {
        for r in [
            "",
            "lambda",
            "${MyFunctionArn}",
            "arn::lambda:::x",
            "arn:aws:lambda:us-east-1:1:",
            "urn:a:b:c:d:e",
        ] {
            assert_eq!(
                messages(r, false),
                ["Value is not a valid resource ARN"],
                "{r}"
            );
        }
    }

    #[test]
    fn express_refuses_sync_and_callbacks() {
        assert_eq!(
            messages("arn:aws:states:::states:startExecution.sync", true),
            ["Express state machine does not support '.sync' service integration"]
        );
        assert_eq!(
            messages("arn:aws:states:::sns:publish.waitForTaskToken", true),
            ["Express state machine does not support '.waitForTaskToken' service integration "]
        );
        assert!(messages("arn:aws:states:::lambda:invoke", true).is_empty());
        assert_eq!(
            messages("arn:aws:states:us-east-1:123456789012:activity:a", true),
            ["Express state machine does not support Activity ARN"]
        );
    }
}
