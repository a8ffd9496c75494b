//! Lint: templates that parse and render but do not do what was meant.
//!
//! Owns the checks behind [`crate::Template::lint`], both from research
//! §D.1 on the seed template:
//!
//! 1. `replaceAll("\'", ...)` with ONE backslash: the regex `\'` matches a
//!    plain quote, so the call that should undo `escapeJavaScript`'s `\'`
//!    changes nothing and the output is invalid JSON. It happens when the
//!    template sits in a format that eats one level of backslashes (JSON,
//!    TypeScript, YAML double quotes) and the author wrote two.
//! 2. `#set($input = ...)` followed by `$input.params` / `.path` / `.json` /
//!    `.body`: after the `#set`, `$input` is a plain value, so those render
//!    as their source text.
//!
//! It must not render or change the template.

use crate::ast::{Block, Expr, Modifier, Node, Reference};
use crate::error::Warning;

pub(crate) fn lint(block: &Block) -> Vec<Warning> {
    let mut linter = Linter::default();
    linter.block(block);
    linter.warnings
}

#[derive(Default)]
struct Linter {
    warnings: Vec<Warning>,
    /// Set once `#set($input = ...)` has been seen (document order).
    input_shadowed: bool,
}

impl Linter {
    fn block(&mut self, block: &Block) {
        for node in block {
            match node {
                Node::Text(_) | Node::Break | Node::Stop => {}
                Node::Ref { reference, .. } => self.reference(reference),
                Node::Set { target, value, .. } => {
                    self.expr(value);
                    for modifier in &target.modifiers {
                        self.modifier(modifier);
                    }
                    if target.root == "input" && target.modifiers.is_empty() {
                        self.input_shadowed = true;
                    } else if target.root == "input" {
                        self.reference(target);
                    }
                }
                Node::If {
                    branches,
                    otherwise,
                } => {
                    for (condition, body) in branches {
                        self.expr(condition);
                        self.block(body);
                    }
                    if let Some(body) = otherwise {
                        self.block(body);
                    }
                }
                Node::Foreach { iterable, body, .. } => {
                    self.expr(iterable);
                    self.block(body);
                }
            }
        }
    }

    fn reference(&mut self, reference: &Reference) {
        if self.input_shadowed && reference.root == "input" {
            let accessor = match reference.modifiers.first() {
                Some(Modifier::Property(name)) => Some(name.as_str()),
                Some(Modifier::Method { name, .. }) => Some(name.as_str()),
                _ => None,
            };
            if let Some(accessor @ ("params" | "path" | "json" | "body")) = accessor {
                self.warnings.push(Warning {
                    line: reference.pos.line,
                    column: reference.pos.column,
                    message: format!(
                        "$input.{accessor} after #set($input = ...): $input no longer is API Gateway's request object, so this renders as its own source text; assign the value to another name, e.g. #set($body = $input.json('$'))"
                    ),
                });
            }
        }
        for modifier in &reference.modifiers {
            self.modifier(modifier);
        }
    }

    fn modifier(&mut self, modifier: &Modifier) {
        match modifier {
            Modifier::Property(_) => {}
            Modifier::Index(index) => self.expr(index),
            Modifier::Method { name, args, pos } => {
                if matches!(name.as_str(), "replaceAll" | "replaceFirst")
                    && matches!(args.first(), Some(Expr::Str(pattern)) if pattern == "\\'")
                {
                    self.warnings.push(Warning {
                        line: pos.line,
                        column: pos.column,
                        message: format!(
                            "{name}(\"\\'\", ...) has one backslash: the regex \\' matches a plain quote, so escapeJavaScript's \\' stays in the output, which is invalid JSON. The template text must read {name}(\"\\\\'\", \"'\") (two backslashes); a JSON, YAML double-quoted or TypeScript string needs four to produce that"
                        ),
                    });
                }
                for arg in args {
                    self.expr(arg);
                }
            }
        }
    }

    fn expr(&mut self, expr: &Expr) {
        match expr {
            Expr::Ref(reference) => self.reference(reference),
            Expr::Interpolated(block) => self.block(block),
            Expr::Str(_) | Expr::Int(_) | Expr::Float(_) | Expr::Bool(_) | Expr::Null => {}
            Expr::List(items) => items.iter().for_each(|item| self.expr(item)),
            Expr::Range(from, to) => {
                self.expr(from);
                self.expr(to);
            }
            Expr::Map(entries) => {
                for (k, v) in entries {
                    self.expr(k);
                    self.expr(v);
                }
            }
            Expr::Not(inner) => self.expr(inner),
            Expr::Binary(_, left, right) => {
                self.expr(left);
                self.expr(right);
            }
        }
    }
}
