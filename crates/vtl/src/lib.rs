//! API Gateway mapping templates: the Apache Velocity 1.7 subset that API
//! Gateway runs for request and response templates, with AWS's `$input`,
//! `$util`, `$context` and `$stageVariables`.
//!
//! The crate is pure: no IO, no clock, no randomness. A [`Template`] is
//! parsed once ([`Template::parse`]) and rendered per request
//! ([`Template::render`]) against a [`Context`] (the request's [`Input`],
//! the `$context` object and the stage variables). [`Template::lint`] finds
//! the two classic mistakes of the Step Functions seed template.
//!
//! ```
//! use vtl::{Context, Input, Template};
//!
//! let template = Template::parse(
//!     "#set($input = $input.json('$'))\n\
//!      {\"input\": \"$util.escapeJavaScript($input).replaceAll(\"\\\\'\", \"'\")\"}",
//! )?;
//! let ctx = Context {
//!     input: Input { body: r#"{"name": "O'Brien"}"#.into(), ..Input::default() },
//!     ..Context::default()
//! };
//! let out = template.render(&ctx)?;
//! assert_eq!(out, r#"{"input": "{\"name\":\"O'Brien\"}"}"#);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Supported
//!
//! * References `$a`, `$!a`, `${a}`, `$!{a}`, properties `$a.b`, methods
//!   `$a.m(x, y)`, indexes `$a[0]` / `$a["k"]`, chains of these. A
//!   reference that is unresolved, names a method that does not exist, or
//!   returns null renders as its source text (Velocity's non-strict mode);
//!   `$!` renders nothing instead. Identifiers follow Velocity 1.7: letters,
//!   digits, `_` and `-` (`$a-b` is one name). `\$a` / `\#set` escape; a `$`
//!   or `#` that starts nothing is text (`"$5"`, `"#1"`).
//! * `#set` (also `#set($map.key = v)` and `#set($list[0] = v)`), `#if` /
//!   `#elseif` / `#else` / `#end`, `#foreach` over lists, map values and
//!   ranges with `$foreach.hasNext/index/count/first/last`, `$velocityCount`
//!   and `$velocityHasNext`, `#break`, `#stop`, the `#{if}` brace forms,
//!   `##` and `#* *#` comments, `#[[ unparsed ]]#`. A line holding only one
//!   directive and whitespace is removed with its newline.
//! * Literals: `"interpolated $strings"` (no backslash escapes; `""` is a
//!   quote), `'plain strings'`, integers, decimals, `true`, `false`, `null`,
//!   `[lists]`, `[1..n]` ranges, `{"maps": ...}`; operators `! && || == != <
//!   > <= >= + - * / %` and their word forms `not and or eq ne lt gt le ge`.
//! * `$input.body`, `.json(path)`, `.path(path)`, `.params()`,
//!   `.params(name)`; JSONPath is the ASL engine's Jayway-compatible
//!   [`asl::path`]. `$util.escapeJavaScript`, `parseJson`, `urlEncode`,
//!   `urlDecode`, `base64Encode`, `base64Decode` (AWS's whole list).
//! * Java methods, with Java semantics (UTF-16 indices, Java regex and
//!   replacement syntax, exceptions become a [`RenderError`]):
//!   - String: `length isEmpty toLowerCase toUpperCase trim substring charAt
//!     indexOf lastIndexOf contains startsWith endsWith equals
//!     equalsIgnoreCase concat replace replaceAll replaceFirst matches split
//!     toString`, property `$s.empty`;
//!   - List: `size isEmpty get contains indexOf add toString equals`;
//!   - Map: `get containsKey keySet values size isEmpty put toString equals`;
//!   - numbers: `toString intValue longValue doubleValue equals`.
//! * Java `toString()` output: `[a, b]`, `{k=v, k2=v2}`, `1.0`, `1.0E10`.
//!
//! # Not supported
//!
//! * `#macro`, `#include`, `#parse`, `#define`, `#evaluate`, `#literal`: a
//!   [`ParseError`] (they need resources or macros API Gateway does not
//!   offer). Other `#words` are text, as Velocity prints unknown macros.
//! * `$util` functions beyond AWS's six render as source text, as on AWS.
//! * Java regex lookaround, backreferences, atomic groups, possessive
//!   quantifiers, `\G`, `\Z`: a [`RenderError`] naming the feature.
//! * Other Java methods (`remove`, `entrySet`, `format`, ...): the reference
//!   renders as its source text, as when Velocity finds no method.
//!
//! # Where AWS's behaviour is not documented
//!
//! These choices follow Velocity 1.7 where AWS says nothing; a golden test
//! against API Gateway could overturn them.
//!
//! * `$input.json(path)` that selects nothing renders `""`;
//!   `$input.path(path)` that selects nothing is null (its source text,
//!   or nothing after `$!`). `$input.params(name)` not found is `""`.
//! * A Java method that throws (index out of range, bad regex, invalid JSON
//!   for `parseJson`, bad base64) fails the render, as Velocity 1.7's
//!   MethodInvocationException does; it does not render the source text.
//! * More than 1,000 iterations of one `#foreach` fails the render (AWS
//!   documents the limit, not what happens past it).
//! * `#set($x = null)` leaves `$x` unchanged (Velocity 1.7's default).
//! * `$util` functions given a number, list or map use its `toString()`;
//!   given `$input` or `$util` they render as source text.
//! * `split()` arrays and `keySet()` sets are lists and print as `[a, b]`
//!   (Java would print an array as `[Ljava.lang.String;@1b6d3586`).
//! * Integers are 64-bit (Velocity widens its 32-bit literals on overflow);
//!   overflowing 64 bits fails the render. `<` `>` `<=` `>=` compare
//!   numbers only and are false for anything else (Velocity 1.7).
//!
//! # Limits
//!
//! Nesting deeper than 64 levels is a [`ParseError`]; more than 1,000
//! iterations of one `#foreach` (AWS's limit), more than 10 MiB of output or
//! of one string, or more than a fixed step budget is a [`RenderError`].
//! Nothing panics or recurses without bound on any input.
//!
//! # Design
//!
//! Templates are parsed into a tree once and rendered by a small
//! tree-walking interpreter whose lists and maps live in a per-render arena
//! (shared and mutable as in Java, but freed with the render even when a
//! list contains itself). The rejected alternative was binding a Velocity
//! port from another language: none is maintained, and the AWS-visible
//! details (escapeJavaScript's exact output, Java regex replacement syntax,
//! non-strict null rendering) are what users' templates depend on.

#![deny(missing_docs)]

mod ast;
mod error;
mod java_regex;
mod lint;
mod methods;
mod parse;
mod render;
mod util;
mod value;

use std::collections::BTreeMap;

pub use error::{ParseError, RenderError, Warning};

/// A parsed template, reusable across requests and threads.
#[derive(Debug, Clone)]
pub struct Template {
    block: ast::Block,
}

impl Template {
    /// Parses template text.
    pub fn parse(text: &str) -> Result<Template, ParseError> {
        Ok(Template {
            block: parse::parse_template(text)?,
        })
    }

    /// Renders the template for one request.
    pub fn render(&self, ctx: &Context) -> Result<String, RenderError> {
        render::render(&self.block, ctx).map(|(output, _)| output)
    }

    /// Renders the template and also returns `$context` as the template
    /// left it, for templates that `#set($context.responseOverride.status =
    /// 400)` or `$context.responseOverride.header.X`.
    pub fn render_detailed(&self, ctx: &Context) -> Result<Rendered, RenderError> {
        render::render(&self.block, ctx).map(|(output, context)| Rendered { output, context })
    }

    /// Warnings about constructs that render but are probably mistakes.
    pub fn lint(&self) -> Vec<Warning> {
        lint::lint(&self.block)
    }
}

/// The result of [`Template::render_detailed`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Rendered {
    /// The rendered text.
    pub output: String,
    /// `$context` after rendering (with any `#set` into it applied).
    pub context: serde_json::Value,
}

/// Everything a template can read.
#[derive(Debug, Clone, Default)]
pub struct Context {
    /// `$input`: the request (or, for response templates, the integration
    /// response).
    pub input: Input,
    /// `$context`: an object such as `{"requestId": ..., "httpMethod": ...,
    /// "resourcePath": ..., "identity": {...}}`. Missing keys are
    /// unresolved references.
    pub context: serde_json::Value,
    /// `$stageVariables`: an object of strings.
    pub stage_variables: serde_json::Value,
}

/// The request as `$input` exposes it.
#[derive(Debug, Clone, Default)]
pub struct Input {
    /// The raw body (`$input.body`; parsed as JSON by `$input.json` and
    /// `$input.path`, an empty body counting as `{}`).
    pub body: String,
    /// Path parameters.
    pub path: BTreeMap<String, String>,
    /// Query string parameters.
    pub querystring: BTreeMap<String, String>,
    /// Headers. `$input.params('name')` finds them ignoring case.
    pub header: BTreeMap<String, String>,
}
