//! The parsed form of a template.
//!
//! Owns the syntax tree the parser builds and the renderer and linter walk.
//! It holds no behaviour: it must not evaluate anything. Everything here is
//! plain owned data, so a parsed [`crate::Template`] is `Send + Sync`.

/// A 1-based source position (column in characters).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Pos {
    pub(crate) line: usize,
    pub(crate) column: usize,
}

/// A sequence of nodes rendered in order.
pub(crate) type Block = Vec<Node>;

#[derive(Debug, Clone)]
pub(crate) enum Node {
    /// Literal output.
    Text(String),
    /// `$a.b(...)`, preceded by `escapes` backslashes (`\$a`).
    Ref {
        reference: Reference,
        escapes: usize,
    },
    /// `#set($target = value)`.
    Set {
        target: Reference,
        value: Expr,
        pos: Pos,
    },
    /// `#if` / `#elseif` branches and the optional `#else`.
    If {
        branches: Vec<(Expr, Block)>,
        otherwise: Option<Block>,
    },
    /// `#foreach($var in iterable) body #end`.
    Foreach {
        var: String,
        iterable: Expr,
        body: Block,
        pos: Pos,
    },
    /// `#break`.
    Break,
    /// `#stop`.
    Stop,
}

/// A reference: `$root` followed by properties, method calls and indexes.
#[derive(Debug, Clone)]
pub(crate) struct Reference {
    /// `$!a`: renders nothing instead of its source text when null.
    pub(crate) quiet: bool,
    pub(crate) root: String,
    pub(crate) modifiers: Vec<Modifier>,
    /// The reference exactly as written (`$!{a.b('x')}`), rendered when it
    /// resolves to null (Velocity's non-strict mode).
    pub(crate) source: String,
    pub(crate) pos: Pos,
}

#[derive(Debug, Clone)]
pub(crate) enum Modifier {
    /// `.name` (a map key or a bean property).
    Property(String),
    /// `.name(args)`.
    Method {
        name: String,
        args: Vec<Expr>,
        pos: Pos,
    },
    /// `[expr]`.
    Index(Expr),
}

#[derive(Debug, Clone)]
pub(crate) enum Expr {
    Ref(Box<Reference>),
    /// A string literal without interpolation: `'...'`, or `"..."` without
    /// `$` or `#`. Holds the text after quote-doubling was undone.
    Str(String),
    /// A `"..."` literal holding `$` or `#`: rendered as a template.
    Interpolated(Block),
    Int(i64),
    Float(f64),
    Bool(bool),
    Null,
    List(Vec<Expr>),
    Range(Box<Expr>, Box<Expr>),
    Map(Vec<(Expr, Expr)>),
    Not(Box<Expr>),
    Binary(BinOp, Box<Expr>, Box<Expr>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BinOp {
    Or,
    And,
    Eq,
    Ne,
    Lt,
    Gt,
    Le,
    Ge,
    Add,
    Sub,
    Mul,
    Div,
    Rem,
}
