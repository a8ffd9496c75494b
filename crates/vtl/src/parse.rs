//! Template text to syntax tree.
//!
//! Owns Velocity's lexical rules as API Gateway's Velocity 1.7 applies them:
//! what is a reference (`$a`, `$!{a.b(1)}`), what is a directive, string
//! literals, comments, escapes, and the removal of lines that hold only a
//! directive. It must not evaluate anything, and it must never recurse
//! without bound: every nesting (blocks, parentheses, lists, maps, method
//! arguments, interpolated strings, `!`) goes through [`Parser::nested`],
//! which stops at [`MAX_DEPTH`] with a [`ParseError`].

use crate::ast::{BinOp, Block, Expr, Modifier, Node, Pos, Reference};
use crate::error::ParseError;

/// How deeply constructs may nest (blocks, parentheses, lists, maps, method
/// arguments, interpolated strings). Real templates use well under ten; the
/// cap keeps parsing and rendering off the end of the stack.
pub(crate) const MAX_DEPTH: usize = 64;

/// Parses a whole template.
pub(crate) fn parse_template(text: &str) -> Result<Block, ParseError> {
    let mut parser = Parser::new(text.chars().collect(), 0, None);
    let (block, term) = parser.parse_block()?;
    match term {
        Term::Eof => Ok(block),
        Term::End(pos) => Err(parser.error_at(pos, "#end without a matching #if or #foreach")),
        Term::Else(pos) => Err(parser.error_at(pos, "#else without a matching #if")),
        Term::ElseIf(_, pos) => Err(parser.error_at(pos, "#elseif without a matching #if")),
    }
}

/// How a block ended.
enum Term {
    Eof,
    End(Pos),
    Else(Pos),
    ElseIf(Expr, Pos),
}

/// The directives this crate knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Directive {
    Set,
    If,
    ElseIf,
    Else,
    End,
    Foreach,
    Break,
    Stop,
    /// A Velocity directive API Gateway templates cannot use here
    /// (`#macro`, `#include`, `#parse`, `#define`, `#evaluate`, `#literal`).
    Unsupported,
}

fn is_ident_start(c: char) -> bool {
    c.is_ascii_alphabetic() || c == '_'
}

/// Velocity 1.7 identifiers continue with letters, digits, `_` and `-`
/// (so `$a-b` is one reference named `a-b`; Velocity 2.0 dropped the `-`).
fn is_ident_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == '-'
}

/// Directive names are letters, digits and `_` (no `-`).
fn is_word_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

struct Parser {
    chars: Vec<char>,
    i: usize,
    depth: usize,
    /// Char index at which each line starts (for positions).
    line_starts: Vec<usize>,
    /// Set for the content of an interpolated string literal: every position
    /// inside it is reported as the literal's own position.
    fixed_pos: Option<Pos>,
}

impl Parser {
    fn new(chars: Vec<char>, depth: usize, fixed_pos: Option<Pos>) -> Parser {
        let mut line_starts = vec![0];
        if fixed_pos.is_none() {
            for (index, c) in chars.iter().enumerate() {
                if *c == '\n' {
                    line_starts.push(index + 1);
                }
            }
        }
        Parser {
            chars,
            i: 0,
            depth,
            line_starts,
            fixed_pos,
        }
    }

    fn pos_of(&self, index: usize) -> Pos {
        if let Some(pos) = self.fixed_pos {
            return pos;
        }
        let line = self.line_starts.partition_point(|start| *start <= index);
        let start = line
            .checked_sub(1)
            .and_then(|l| self.line_starts.get(l))
            .copied()
            .unwrap_or(0);
        Pos {
            line: line.max(1),
            column: index.saturating_sub(start) + 1,
        }
    }

    fn error_at(&self, pos: Pos, message: impl Into<String>) -> ParseError {
        ParseError {
            line: pos.line,
            column: pos.column,
            message: message.into(),
        }
    }

    fn error(&self, index: usize, message: impl Into<String>) -> ParseError {
        self.error_at(self.pos_of(index), message)
    }

    fn peek(&self) -> Option<char> {
        self.chars.get(self.i).copied()
    }

    fn at(&self, index: usize) -> Option<char> {
        self.chars.get(index).copied()
    }

    fn starts_with(&self, index: usize, s: &str) -> bool {
        s.chars()
            .enumerate()
            .all(|(n, c)| self.at(index + n) == Some(c))
    }

    fn text_between(&self, from: usize, to: usize) -> String {
        self.chars.get(from..to).unwrap_or(&[]).iter().collect()
    }

    /// Runs `f` one nesting level deeper, failing past [`MAX_DEPTH`].
    fn nested<T>(
        &mut self,
        f: impl FnOnce(&mut Parser) -> Result<T, ParseError>,
    ) -> Result<T, ParseError> {
        if self.depth >= MAX_DEPTH {
            return Err(self.error(
                self.i,
                format!("the template nests more than {MAX_DEPTH} levels deep"),
            ));
        }
        self.depth += 1;
        let result = f(self);
        self.depth -= 1;
        result
    }

    // ----------------------------------------------------------------------
    // Template mode
    // ----------------------------------------------------------------------

    /// Parses nodes until the end of input or a `#end` / `#else` / `#elseif`
    /// (which the caller matches against its opening directive).
    fn parse_block(&mut self) -> Result<(Block, Term), ParseError> {
        let mut nodes = Vec::new();
        let mut text = String::new();
        loop {
            let Some(c) = self.peek() else {
                flush(&mut nodes, &mut text);
                return Ok((nodes, Term::Eof));
            };
            match c {
                '\\' => self.backslashes(&mut nodes, &mut text)?,
                '$' => match self.reference_at(self.i)? {
                    Some((reference, end)) => {
                        flush(&mut nodes, &mut text);
                        nodes.push(Node::Ref {
                            reference,
                            escapes: 0,
                        });
                        self.i = end;
                    }
                    None => {
                        text.push('$');
                        self.i += 1;
                    }
                },
                '#' => {
                    if let Some(term) = self.hash(&mut nodes, &mut text)? {
                        flush(&mut nodes, &mut text);
                        return Ok((nodes, term));
                    }
                }
                _ => {
                    text.push(c);
                    self.i += 1;
                }
            }
        }
    }

    /// A run of backslashes: escapes for a following reference or directive
    /// (`\$a`, `\\$a`, `\#set`), otherwise plain text.
    fn backslashes(&mut self, nodes: &mut Block, text: &mut String) -> Result<(), ParseError> {
        let start = self.i;
        let mut after = start;
        while self.at(after) == Some('\\') {
            after += 1;
        }
        let count = after - start;
        match self.at(after) {
            Some('$') => {
                if let Some((reference, end)) = self.reference_at(after)? {
                    flush(nodes, text);
                    nodes.push(Node::Ref {
                        reference,
                        escapes: count,
                    });
                    self.i = end;
                    return Ok(());
                }
            }
            Some('#') => {
                if let Some((directive, name_end)) = self.directive_at(after) {
                    // Velocity: each pair of backslashes prints one; an odd
                    // one left over prints the directive's name as text.
                    push_n(text, '\\', count / 2);
                    if count % 2 == 1 || directive == Directive::Unsupported {
                        if count.is_multiple_of(2) {
                            // Unsupported directives after an even run are
                            // still an error, reported by `hash`.
                            self.i = after;
                            return Ok(());
                        }
                        text.push_str(&self.text_between(after, name_end));
                        self.i = name_end;
                    } else {
                        self.i = after;
                    }
                    return Ok(());
                }
            }
            _ => {}
        }
        push_n(text, '\\', count);
        self.i = after;
        Ok(())
    }

    /// At a `#`: a comment, an unparsed block, a directive, or text.
    /// Returns a terminator when the directive ends the current block.
    fn hash(&mut self, nodes: &mut Block, text: &mut String) -> Result<Option<Term>, ParseError> {
        let start = self.i;
        if self.starts_with(start, "##") {
            // A line comment runs to the end of the line, newline included.
            let mut k = start + 2;
            while let Some(c) = self.at(k) {
                k += 1;
                if c == '\n' {
                    break;
                }
            }
            self.i = k;
            return Ok(None);
        }
        if self.starts_with(start, "#*") {
            let mut k = start + 2;
            loop {
                if k >= self.chars.len() {
                    return Err(self.error(start, "unterminated comment: '#*' without '*#'"));
                }
                if self.starts_with(k, "*#") {
                    self.i = k + 2;
                    return Ok(None);
                }
                k += 1;
            }
        }
        if self.starts_with(start, "#[[") {
            let mut k = start + 3;
            loop {
                if k >= self.chars.len() {
                    return Err(
                        self.error(start, "unterminated unparsed block: '#[[' without ']]#'")
                    );
                }
                if self.starts_with(k, "]]#") {
                    text.push_str(&self.text_between(start + 3, k));
                    self.i = k + 3;
                    return Ok(None);
                }
                k += 1;
            }
        }
        let Some((directive, name_end)) = self.directive_at(start) else {
            text.push('#');
            self.i += 1;
            return Ok(None);
        };
        let pos = self.pos_of(start);
        self.i = name_end;
        // Ok(node) for directives that are nodes of their own; Err(term) for
        // those that end or continue a block. `#if` is parked as an ElseIf
        // term carrying its condition and opens its chain below, after the
        // line has been gobbled.
        let node_or_term = match directive {
            Directive::Unsupported => {
                let name = self.text_between(start, name_end);
                return Err(self.error_at(
                    pos,
                    format!(
                        "{name} is not supported: API Gateway templates have no macros, includes or nested templates"
                    ),
                ));
            }
            Directive::Set => {
                self.open_paren(&pos, "#set")?;
                let target = self.set_target()?;
                self.skip_ws();
                if self.peek() != Some('=') {
                    return Err(self.error(self.i, "expected '=' in #set"));
                }
                self.i += 1;
                let value = self.expr()?;
                self.close_paren("#set")?;
                Ok(Node::Set { target, value, pos })
            }
            Directive::If => {
                self.open_paren(&pos, "#if")?;
                let condition = self.expr()?;
                self.close_paren("#if")?;
                Err(Term::ElseIf(condition, pos))
            }
            Directive::ElseIf => {
                self.open_paren(&pos, "#elseif")?;
                let condition = self.expr()?;
                self.close_paren("#elseif")?;
                Err(Term::ElseIf(condition, pos))
            }
            Directive::Else => Err(Term::Else(pos)),
            Directive::End => Err(Term::End(pos)),
            Directive::Foreach => {
                self.open_paren(&pos, "#foreach")?;
                self.skip_ws();
                let var_at = self.i;
                let var = match self.reference_at(var_at)? {
                    Some((reference, end)) if reference.modifiers.is_empty() => {
                        self.i = end;
                        reference.root
                    }
                    _ => {
                        return Err(
                            self.error(var_at, "expected a variable such as $item after #foreach(")
                        );
                    }
                };
                self.skip_ws();
                if !self.eat_word("in") {
                    return Err(self.error(self.i, "expected 'in' in #foreach"));
                }
                let iterable = self.expr()?;
                self.close_paren("#foreach")?;
                Ok(Node::Foreach {
                    var,
                    iterable,
                    body: Vec::new(),
                    pos,
                })
            }
            Directive::Break => Ok(Node::Break),
            Directive::Stop => Ok(Node::Stop),
        };
        self.gobble_line(start, text);
        match node_or_term {
            Ok(Node::Foreach {
                var, iterable, pos, ..
            }) => {
                flush(nodes, text);
                let (body, term) = self.nested(|p| p.parse_block())?;
                match term {
                    Term::End(_) => {}
                    Term::Eof => return Err(self.error_at(pos, "#foreach without a matching #end")),
                    Term::Else(p) | Term::ElseIf(_, p) => {
                        return Err(
                            self.error_at(p, "#else or #elseif inside #foreach without #if")
                        );
                    }
                }
                nodes.push(Node::Foreach {
                    var,
                    iterable,
                    body,
                    pos,
                });
                Ok(None)
            }
            Ok(node) => {
                flush(nodes, text);
                nodes.push(node);
                Ok(None)
            }
            Err(Term::ElseIf(condition, pos)) if directive == Directive::If => {
                flush(nodes, text);
                let node = self.if_chain(condition, pos)?;
                nodes.push(node);
                Ok(None)
            }
            Err(term) => Ok(Some(term)),
        }
    }

    /// After `#if(cond)`: the branches up to the matching `#end`.
    fn if_chain(&mut self, condition: Expr, pos: Pos) -> Result<Node, ParseError> {
        let mut branches = Vec::new();
        let mut condition = condition;
        loop {
            let (body, term) = self.nested(|p| p.parse_block())?;
            branches.push((condition, body));
            match term {
                Term::End(_) => {
                    return Ok(Node::If {
                        branches,
                        otherwise: None,
                    });
                }
                Term::ElseIf(next, _) => condition = next,
                Term::Else(_) => {
                    let (body, term) = self.nested(|p| p.parse_block())?;
                    return match term {
                        Term::End(_) => Ok(Node::If {
                            branches,
                            otherwise: Some(body),
                        }),
                        Term::Eof => Err(self.error_at(pos, "#if without a matching #end")),
                        Term::Else(p) | Term::ElseIf(_, p) => {
                            Err(self.error_at(p, "#else or #elseif after #else"))
                        }
                    };
                }
                Term::Eof => return Err(self.error_at(pos, "#if without a matching #end")),
            }
        }
    }

    /// A line holding only whitespace and this directive disappears, newline
    /// included (so directives do not leave blank lines in JSON output).
    /// Only in the template proper, not inside string literals.
    fn gobble_line(&mut self, hash_at: usize, text: &mut String) {
        if self.fixed_pos.is_some() {
            return;
        }
        let mut k = hash_at;
        while k > 0 && matches!(self.at(k - 1), Some(' ' | '\t')) {
            k -= 1;
        }
        if k > 0 && self.at(k - 1) != Some('\n') {
            return;
        }
        let mut j = self.i;
        while matches!(self.at(j), Some(' ' | '\t')) {
            j += 1;
        }
        let after = match self.at(j) {
            None => j,
            Some('\n') => j + 1,
            Some('\r') if self.at(j + 1) == Some('\n') => j + 2,
            _ => return,
        };
        // The indentation is the tail of the pending text (whitespace is
        // always text), so it can be cut there.
        let mut to_cut = hash_at - k;
        while to_cut > 0 && (text.ends_with(' ') || text.ends_with('\t')) {
            text.pop();
            to_cut -= 1;
        }
        self.i = after;
    }

    /// Recognises `#name` / `#{name}` at `at`; returns the directive and the
    /// index after its name.
    fn directive_at(&self, at: usize) -> Option<(Directive, usize)> {
        let mut k = at + 1;
        let braced = self.at(k) == Some('{');
        if braced {
            k += 1;
        }
        let word_start = k;
        while self.at(k).is_some_and(is_word_char) {
            k += 1;
        }
        let word = self.text_between(word_start, k);
        if braced {
            if self.at(k) != Some('}') {
                return None;
            }
            k += 1;
        }
        let directive = match word.as_str() {
            "set" => Directive::Set,
            "if" => Directive::If,
            "elseif" => Directive::ElseIf,
            "else" => Directive::Else,
            "end" => Directive::End,
            "foreach" => Directive::Foreach,
            "break" => Directive::Break,
            "stop" => Directive::Stop,
            "macro" | "include" | "parse" | "define" | "evaluate" | "literal" => {
                Directive::Unsupported
            }
            _ => return None,
        };
        Some((directive, k))
    }

    fn open_paren(&mut self, pos: &Pos, name: &str) -> Result<(), ParseError> {
        while matches!(self.peek(), Some(' ' | '\t')) {
            self.i += 1;
        }
        if self.peek() != Some('(') {
            return Err(self.error_at(*pos, format!("{name} must be followed by '('")));
        }
        self.i += 1;
        Ok(())
    }

    fn close_paren(&mut self, name: &str) -> Result<(), ParseError> {
        self.skip_ws();
        if self.peek() != Some(')') {
            return Err(self.error(self.i, format!("expected ')' to close {name}")));
        }
        self.i += 1;
        Ok(())
    }

    /// The left side of `#set`: a variable, or a property / index of one.
    fn set_target(&mut self) -> Result<Reference, ParseError> {
        self.skip_ws();
        let at = self.i;
        match self.reference_at(at)? {
            Some((reference, end)) => {
                if reference
                    .modifiers
                    .iter()
                    .any(|m| matches!(m, Modifier::Method { .. }))
                {
                    return Err(self.error(at, "#set cannot assign to a method call"));
                }
                self.i = end;
                Ok(reference)
            }
            None => Err(self.error(at, "expected a reference such as $name after #set(")),
        }
    }

    // ----------------------------------------------------------------------
    // References
    // ----------------------------------------------------------------------

    /// Parses a reference starting at the `$` at `at`. `None` when the `$`
    /// does not start one (then it is plain text, e.g. `"$5"`). On success
    /// returns the reference and the index after it; `self.i` is restored.
    fn reference_at(&mut self, at: usize) -> Result<Option<(Reference, usize)>, ParseError> {
        let saved = self.i;
        let result = self.reference_inner(at);
        self.i = saved;
        result
    }

    fn reference_inner(&mut self, at: usize) -> Result<Option<(Reference, usize)>, ParseError> {
        let pos = self.pos_of(at);
        let mut k = at + 1;
        let quiet = self.at(k) == Some('!');
        if quiet {
            k += 1;
        }
        let braced = self.at(k) == Some('{');
        if braced {
            k += 1;
        }
        if !self.at(k).is_some_and(is_ident_start) {
            return Ok(None);
        }
        let root = self.ident(&mut k);
        self.i = k;
        let mut modifiers = Vec::new();
        loop {
            match self.peek() {
                Some('.') if self.at(self.i + 1).is_some_and(is_ident_start) => {
                    let name_at = self.i + 1;
                    let mut k = name_at;
                    let name = self.ident(&mut k);
                    self.i = k;
                    if self.peek() == Some('(') {
                        self.i += 1;
                        let args = self.nested(|p| p.arguments(&name))?;
                        modifiers.push(Modifier::Method {
                            name,
                            args,
                            pos: self.pos_of(name_at),
                        });
                    } else {
                        modifiers.push(Modifier::Property(name));
                    }
                }
                Some('[') => {
                    // `$a[...]` whose content cannot start an expression
                    // (`$price[USD]`, `$a[]`) leaves the bracket as text
                    // rather than failing the template. Anything else must
                    // parse: falling back after a long failed attempt
                    // would make parsing quadratic.
                    let mut k = self.i + 1;
                    while matches!(self.at(k), Some(' ' | '\t' | '\n' | '\r')) {
                        k += 1;
                    }
                    if !self.starts_expression(k) {
                        break;
                    }
                    self.i += 1;
                    let index = self.nested(|p| {
                        let e = p.expr()?;
                        p.skip_ws();
                        if p.peek() == Some(']') {
                            p.i += 1;
                            Ok(e)
                        } else {
                            Err(p.error(p.i, "expected ']' to close the index"))
                        }
                    })?;
                    modifiers.push(Modifier::Index(index));
                }
                _ => break,
            }
        }
        if braced {
            if self.peek() != Some('}') {
                return Ok(None);
            }
            self.i += 1;
        }
        let end = self.i;
        let reference = Reference {
            quiet,
            root,
            modifiers,
            source: self.text_between(at, end),
            pos,
        };
        Ok(Some((reference, end)))
    }

    /// Whether an expression can start at `k` (used to tell `$a[0]` from
    /// text such as `$price[USD]`).
    fn starts_expression(&self, k: usize) -> bool {
        match self.at(k) {
            Some('$' | '"' | '\'' | '[' | '{' | '(' | '!' | '0'..='9') => true,
            Some('-') => self.at(k + 1).is_some_and(|c| c.is_ascii_digit()),
            Some(_) => ["true", "false", "null", "not"].iter().any(|word| {
                self.starts_with(k, word) && !self.at(k + word.len()).is_some_and(is_ident_char)
            }),
            None => false,
        }
    }

    fn ident(&self, k: &mut usize) -> String {
        let start = *k;
        while self.at(*k).is_some_and(is_ident_char) {
            *k += 1;
        }
        self.text_between(start, *k)
    }

    /// Method arguments after `(`, through the closing `)`.
    fn arguments(&mut self, name: &str) -> Result<Vec<Expr>, ParseError> {
        let mut args = Vec::new();
        self.skip_ws();
        if self.peek() == Some(')') {
            self.i += 1;
            return Ok(args);
        }
        loop {
            args.push(self.expr()?);
            self.skip_ws();
            match self.peek() {
                Some(',') => self.i += 1,
                Some(')') => {
                    self.i += 1;
                    return Ok(args);
                }
                _ => {
                    return Err(self.error(
                        self.i,
                        format!("expected ',' or ')' in the arguments of .{name}("),
                    ));
                }
            }
        }
    }

    // ----------------------------------------------------------------------
    // Expressions (Velocity precedence, loosest first):
    // || or, && and, == != eq ne, < > <= >= lt gt le ge, + -, * / %, ! not
    // ----------------------------------------------------------------------

    fn skip_ws(&mut self) {
        while matches!(self.peek(), Some(' ' | '\t' | '\n' | '\r')) {
            self.i += 1;
        }
    }

    fn eat(&mut self, s: &str) -> bool {
        if self.starts_with(self.i, s) {
            self.i += s.chars().count();
            true
        } else {
            false
        }
    }

    /// Eats a word operator (`and`, `eq`, `in`, ...) not followed by an
    /// identifier character.
    fn eat_word(&mut self, word: &str) -> bool {
        let end = self.i + word.len();
        if self.starts_with(self.i, word) && !self.at(end).is_some_and(is_ident_char) {
            self.i = end;
            true
        } else {
            false
        }
    }

    fn expr(&mut self) -> Result<Expr, ParseError> {
        self.nested(|p| p.or_expr())
    }

    fn or_expr(&mut self) -> Result<Expr, ParseError> {
        let mut left = self.and_expr()?;
        loop {
            self.skip_ws();
            if self.eat("||") || self.eat_word("or") {
                let right = self.and_expr()?;
                left = Expr::Binary(BinOp::Or, Box::new(left), Box::new(right));
            } else {
                return Ok(left);
            }
        }
    }

    fn and_expr(&mut self) -> Result<Expr, ParseError> {
        let mut left = self.eq_expr()?;
        loop {
            self.skip_ws();
            if self.eat("&&") || self.eat_word("and") {
                let right = self.eq_expr()?;
                left = Expr::Binary(BinOp::And, Box::new(left), Box::new(right));
            } else {
                return Ok(left);
            }
        }
    }

    fn eq_expr(&mut self) -> Result<Expr, ParseError> {
        let mut left = self.rel_expr()?;
        loop {
            self.skip_ws();
            let op = if self.eat("==") || self.eat_word("eq") {
                BinOp::Eq
            } else if self.eat("!=") || self.eat_word("ne") {
                BinOp::Ne
            } else {
                return Ok(left);
            };
            let right = self.rel_expr()?;
            left = Expr::Binary(op, Box::new(left), Box::new(right));
        }
    }

    fn rel_expr(&mut self) -> Result<Expr, ParseError> {
        let mut left = self.add_expr()?;
        loop {
            self.skip_ws();
            let op = if self.eat("<=") || self.eat_word("le") {
                BinOp::Le
            } else if self.eat(">=") || self.eat_word("ge") {
                BinOp::Ge
            } else if self.eat("<") || self.eat_word("lt") {
                BinOp::Lt
            } else if self.eat(">") || self.eat_word("gt") {
                BinOp::Gt
            } else {
                return Ok(left);
            };
            let right = self.add_expr()?;
            left = Expr::Binary(op, Box::new(left), Box::new(right));
        }
    }

    fn add_expr(&mut self) -> Result<Expr, ParseError> {
        let mut left = self.mul_expr()?;
        loop {
            self.skip_ws();
            let op = if self.eat("+") {
                BinOp::Add
            } else if self.eat("-") {
                BinOp::Sub
            } else {
                return Ok(left);
            };
            let right = self.mul_expr()?;
            left = Expr::Binary(op, Box::new(left), Box::new(right));
        }
    }

    fn mul_expr(&mut self) -> Result<Expr, ParseError> {
        let mut left = self.unary()?;
        loop {
            self.skip_ws();
            let op = if self.eat("*") {
                BinOp::Mul
            } else if self.eat("/") {
                BinOp::Div
            } else if self.eat("%") {
                BinOp::Rem
            } else {
                return Ok(left);
            };
            let right = self.unary()?;
            left = Expr::Binary(op, Box::new(left), Box::new(right));
        }
    }

    fn unary(&mut self) -> Result<Expr, ParseError> {
        self.skip_ws();
        if (self.peek() == Some('!') && self.at(self.i + 1) != Some('='))
            || self.starts_with(self.i, "not")
        {
            let negated = if self.eat_word("not") {
                true
            } else if self.peek() == Some('!') {
                self.i += 1;
                true
            } else {
                false
            };
            if negated {
                let inner = self.nested(|p| p.unary())?;
                return Ok(Expr::Not(Box::new(inner)));
            }
        }
        self.primary()
    }

    fn primary(&mut self) -> Result<Expr, ParseError> {
        self.skip_ws();
        let at = self.i;
        let Some(c) = self.peek() else {
            return Err(self.error(at, "unexpected end of template in an expression"));
        };
        match c {
            '(' => {
                self.i += 1;
                let inner = self.expr()?;
                self.skip_ws();
                if self.peek() != Some(')') {
                    return Err(self.error(self.i, "expected ')'"));
                }
                self.i += 1;
                Ok(inner)
            }
            '"' => self.double_quoted(),
            '\'' => self.single_quoted(),
            '[' => {
                self.i += 1;
                self.nested(|p| p.list_or_range())
            }
            '{' => {
                self.i += 1;
                self.nested(|p| p.map_literal())
            }
            '$' => match self.reference_at(at)? {
                Some((reference, end)) => {
                    self.i = end;
                    Ok(Expr::Ref(Box::new(reference)))
                }
                None => Err(self.error(at, "expected a reference after '$'")),
            },
            '0'..='9' => self.number(),
            '-' if self.at(at + 1).is_some_and(|d| d.is_ascii_digit()) => self.number(),
            _ => {
                if self.eat_word("true") {
                    Ok(Expr::Bool(true))
                } else if self.eat_word("false") {
                    Ok(Expr::Bool(false))
                } else if self.eat_word("null") {
                    Ok(Expr::Null)
                } else {
                    Err(self.error(at, format!("unexpected '{c}' in an expression")))
                }
            }
        }
    }

    fn number(&mut self) -> Result<Expr, ParseError> {
        let start = self.i;
        if self.peek() == Some('-') {
            self.i += 1;
        }
        while self.peek().is_some_and(|c| c.is_ascii_digit()) {
            self.i += 1;
        }
        let mut float = false;
        if self.peek() == Some('.') && self.at(self.i + 1).is_some_and(|c| c.is_ascii_digit()) {
            float = true;
            self.i += 1;
            while self.peek().is_some_and(|c| c.is_ascii_digit()) {
                self.i += 1;
            }
        }
        // An exponent makes a float, with or without a fraction (`1e5`).
        if matches!(self.peek(), Some('e' | 'E')) {
            let mut k = self.i + 1;
            if matches!(self.at(k), Some('+' | '-')) {
                k += 1;
            }
            if self.at(k).is_some_and(|c| c.is_ascii_digit()) {
                float = true;
                self.i = k;
                while self.peek().is_some_and(|c| c.is_ascii_digit()) {
                    self.i += 1;
                }
            }
        }
        let text = self.text_between(start, self.i);
        if float {
            text.parse::<f64>()
                .map(Expr::Float)
                .map_err(|_| self.error(start, format!("invalid number '{text}'")))
        } else {
            text.parse::<i64>()
                .map(Expr::Int)
                .map_err(|_| self.error(start, format!("integer '{text}' is out of range")))
        }
    }

    /// `"..."`: `""` is one quote; a backslash keeps the next character
    /// from closing the string but is itself kept (Velocity does no escape
    /// processing, so `"\\'"` reaches Java as the three characters `\\'`).
    /// Content holding `$` or `#` is a template of its own.
    fn double_quoted(&mut self) -> Result<Expr, ParseError> {
        let start = self.i;
        let pos = self.pos_of(start);
        self.i += 1;
        let mut content = Vec::new();
        loop {
            match self.peek() {
                None => return Err(self.error(start, "unterminated string literal")),
                Some('"') if self.at(self.i + 1) == Some('"') => {
                    content.push('"');
                    self.i += 2;
                }
                Some('"') => {
                    self.i += 1;
                    break;
                }
                Some('\\') => {
                    content.push('\\');
                    self.i += 1;
                    if let Some(next) = self.peek() {
                        content.push(next);
                        self.i += 1;
                    }
                }
                Some(c) => {
                    content.push(c);
                    self.i += 1;
                }
            }
        }
        if !content.iter().any(|c| *c == '$' || *c == '#') {
            return Ok(Expr::Str(content.into_iter().collect()));
        }
        let depth = self.depth;
        if depth >= MAX_DEPTH {
            return Err(self.error_at(
                pos,
                format!("the template nests more than {MAX_DEPTH} levels deep"),
            ));
        }
        let mut inner = Parser::new(content, depth + 1, Some(pos));
        let (block, term) = inner.parse_block()?;
        match term {
            Term::Eof => Ok(Expr::Interpolated(block)),
            _ => Err(self.error_at(
                pos,
                "#end, #else or #elseif without a matching #if in a string literal",
            )),
        }
    }

    /// `'...'`: literal text, `''` is one quote.
    fn single_quoted(&mut self) -> Result<Expr, ParseError> {
        let start = self.i;
        self.i += 1;
        let mut content = String::new();
        loop {
            match self.peek() {
                None => return Err(self.error(start, "unterminated string literal")),
                Some('\'') if self.at(self.i + 1) == Some('\'') => {
                    content.push('\'');
                    self.i += 2;
                }
                Some('\'') => {
                    self.i += 1;
                    return Ok(Expr::Str(content));
                }
                Some(c) => {
                    content.push(c);
                    self.i += 1;
                }
            }
        }
    }

    /// After `[`: `[]`, `[a, b]` or `[from..to]`.
    fn list_or_range(&mut self) -> Result<Expr, ParseError> {
        self.skip_ws();
        if self.peek() == Some(']') {
            self.i += 1;
            return Ok(Expr::List(Vec::new()));
        }
        let first = self.expr()?;
        self.skip_ws();
        if self.eat("..") {
            let last = self.expr()?;
            self.skip_ws();
            if self.peek() != Some(']') {
                return Err(self.error(self.i, "expected ']' to close the range"));
            }
            self.i += 1;
            return Ok(Expr::Range(Box::new(first), Box::new(last)));
        }
        let mut items = vec![first];
        loop {
            self.skip_ws();
            match self.peek() {
                Some(',') => {
                    self.i += 1;
                    items.push(self.expr()?);
                }
                Some(']') => {
                    self.i += 1;
                    return Ok(Expr::List(items));
                }
                _ => return Err(self.error(self.i, "expected ',' or ']' in a list")),
            }
        }
    }

    /// After `{`: `{}` or `{key: value, ...}`.
    fn map_literal(&mut self) -> Result<Expr, ParseError> {
        let mut entries = Vec::new();
        self.skip_ws();
        if self.peek() == Some('}') {
            self.i += 1;
            return Ok(Expr::Map(entries));
        }
        loop {
            let key = self.expr()?;
            self.skip_ws();
            if self.peek() != Some(':') {
                return Err(self.error(self.i, "expected ':' in a map"));
            }
            self.i += 1;
            let value = self.expr()?;
            entries.push((key, value));
            self.skip_ws();
            match self.peek() {
                Some(',') => self.i += 1,
                Some('}') => {
                    self.i += 1;
                    return Ok(Expr::Map(entries));
                }
                _ => return Err(self.error(self.i, "expected ',' or '}' in a map")),
            }
        }
    }
}

fn flush(nodes: &mut Block, text: &mut String) {
    if !text.is_empty() {
        nodes.push(Node::Text(std::mem::take(text)));
    }
}

fn push_n(text: &mut String, c: char, n: usize) {
    for _ in 0..n {
        text.push(c);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn only_ref(text: &str) -> (Reference, usize) {
        match parse_template(text).unwrap().as_slice() {
            [Node::Ref { reference, escapes }] => (reference.clone(), *escapes),
            other => panic!("{text}: {other:?}"),
        }
    }

    #[test]
    fn references_keep_their_source_and_shape() {
        let (r, escapes) = only_ref("$!{a-b.c('x', $d)[0]}");
        assert!(r.quiet);
        assert_eq!(escapes, 0);
        assert_eq!(r.root, "a-b");
        assert_eq!(r.source, "$!{a-b.c('x', $d)[0]}");
        assert!(
            matches!(r.modifiers.as_slice(), [Modifier::Method { name, args, .. }, Modifier::Index(Expr::Int(0))] if name == "c" && args.len() == 2)
        );
        assert_eq!(only_ref("\\\\\\$x").1, 3);
    }

    #[test]
    fn positions_are_one_based_characters() {
        let block = parse_template("é\n  $x").unwrap();
        let Some(Node::Ref { reference, .. }) = block.get(1) else {
            panic!("{block:?}")
        };
        assert_eq!((reference.pos.line, reference.pos.column), (2, 3));
        let err = parse_template("日本\n#set($a 1)").unwrap_err();
        assert_eq!((err.line, err.column), (2, 9));
    }

    #[test]
    fn only_whole_directive_lines_are_gobbled() {
        let block = parse_template("a\n  #set($x = 1)  \nb #set($y = 2)\n").unwrap();
        let texts: Vec<&str> = block
            .iter()
            .filter_map(|n| match n {
                Node::Text(t) => Some(t.as_str()),
                _ => None,
            })
            .collect();
        assert_eq!(texts, ["a\n", "b ", "\n"]);
    }

    #[test]
    fn string_literals_are_not_unescaped() {
        let block = parse_template(r#"#set($a = "x\\'""y")"#).unwrap();
        let Some(Node::Set {
            value: Expr::Str(s),
            ..
        }) = block.first()
        else {
            panic!("{block:?}")
        };
        assert_eq!(s, r#"x\\'"y"#);
    }
}
