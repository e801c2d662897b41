//! Lowering sqlparser's AST to the model's plan, binding names against the catalog.

mod advisory;
mod alter;
mod attach;
mod index;
mod inference;
mod insert;
mod partition;
mod prepare;
mod reloptions;
mod select;
mod sequence;
mod upsert;
mod vacuum;

use super::catalog::{pg_object_name, Catalog, ColType, Column, Index, RefAction, Table, TableId, Width};
use super::plan::{CmpOp, Cond, DropTables, Expr, Filter, Isolation, LockClause, Plan, TableLock};
use super::value::Value;
use sqlparser::ast::{
    self, BinaryOperator, ColumnOption, DataType, FromTable, ObjectName, ReferentialAction, SelectItem, SetExpr,
    Statement as Ast, TableConstraint, TableFactor, TransactionIsolationLevel, TransactionMode, UnaryOperator,
};

pub(crate) use vacuum::maintenance;

/// How DDL is turned into a schema.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SchemaOptions {
    /// Enforce declared foreign keys (`--fk on`).
    pub fk_enforced: bool,
    /// The engine creates an index for a foreign key that has none (InnoDB does); with the FK
    /// stripped that index is kept, as Django's `db_constraint=False` keeps it.
    pub implicit_fk_index: bool,
    /// Whose SQL the statements are read as.
    pub dialect: SqlDialect,
}

/// The sqlparser dialect a spec's SQL is read with: its engine's, so that each server's own
/// identifiers and literals work (PostgreSQL takes a column named `key`, which the generic and
/// MySQL dialects read as an index clause). A statement the engine's dialect refuses is read
/// with the generic one, which takes the statements written for both servers (`BEGIN ISOLATION
/// LEVEL ...`, PostgreSQL's `SET` of a duration) that sqlparser's MySQL dialect does not.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SqlDialect {
    Generic,
    Postgres,
    MySql,
}

impl SqlDialect {
    /// Parse `text` with this dialect (then the generic one); the first dialect's error if both
    /// refuse it.
    pub(crate) fn parse(self, text: &str) -> Result<Vec<Ast>, sqlparser::parser::ParserError> {
        type Parsed = Result<Vec<Ast>, sqlparser::parser::ParserError>;
        thread_local! {
            static PARSED: super::memo::Memo<(SqlDialect, String), Parsed> = Default::default();
        }
        super::memo::memoized(&PARSED, &(self, text.to_string()), || self.parse_uncached(text))
    }

    fn parse_uncached(self, text: &str) -> Result<Vec<Ast>, sqlparser::parser::ParserError> {
        use sqlparser::dialect::{GenericDialect, MySqlDialect, PostgreSqlDialect};
        use sqlparser::parser::Parser;
        let generic = || Parser::parse_sql(&GenericDialect {}, text);
        let own = match self {
            SqlDialect::Generic => return generic(),
            SqlDialect::Postgres => Parser::parse_sql(&PostgreSqlDialect {}, text),
            SqlDialect::MySql => Parser::parse_sql(&MySqlDialect {}, text),
        };
        own.or_else(|e| generic().map_err(|_| e))
    }
}

/// Why a statement cannot be bound; its text is the message `file:line:col:` leads.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LowerError {
    /// Outside the SQL subset.
    #[error("{0}")]
    Unsupported(String),
    /// SQL the engines have but the model does not.
    #[error("{0} are not modelled")]
    NotModelled(&'static str),
    #[error("table `{0}` does not exist")]
    NoSuchTable(String),
    #[error("column `{column}` does not exist in table `{table}`")]
    NoSuchColumn { column: String, table: String },
    #[error("{0} already exists")]
    Exists(String),
    /// Well-formed, but not a valid schema or statement.
    #[error("{0}")]
    Invalid(String),
}

type R<T> = Result<T, LowerError>;

fn ident_name(name: &ObjectName) -> String {
    name.0.last().map(|p| p.to_string().trim_matches('"').trim_matches('`').to_string()).unwrap_or_default()
}

fn unquote(id: &ast::Ident) -> String {
    id.value.clone()
}

fn table_of(catalog: &Catalog, name: &ObjectName) -> R<TableId> {
    let n = ident_name(name);
    catalog.table_id(&n).ok_or(LowerError::NoSuchTable(n))
}

fn column_of(table: &Table, name: &str) -> R<usize> {
    table.col(name).ok_or_else(|| LowerError::NoSuchColumn { column: name.to_string(), table: table.name.clone() })
}

/// A column's type, whether it is serial, and how MariaDB stores it (utf8mb4 text; the storage
/// sizes of the MariaDB manual's "Data Type Storage Requirements").
fn col_type(dt: &DataType) -> R<(ColType, bool, Width)> {
    let text = dt.to_string().to_ascii_uppercase();
    // MySQL's UNSIGNED (Django's Positive*Field) changes nothing the model keeps.
    let unsigned = text.split('(').next().unwrap_or("").trim().strip_suffix(" UNSIGNED");
    let base = unsigned.unwrap_or_else(|| text.split('(').next().unwrap_or("").trim());
    let declared: Option<u32> =
        text.split_once('(').and_then(|(_, rest)| rest.split([')', ',']).next()).and_then(|n| n.trim().parse().ok());
    let int = |bytes| Width::fixed(bytes);
    Ok(match base {
        "SERIAL" | "BIGSERIAL" => (ColType::Int, true, int(8)),
        "SMALLSERIAL" => (ColType::Int, true, int(2)),
        "INT" | "INTEGER" | "INT4" => (ColType::Int, false, int(4)),
        "BIGINT" | "INT8" => (ColType::Int, false, int(8)),
        "SMALLINT" | "INT2" => (ColType::Int, false, int(2)),
        "MEDIUMINT" => (ColType::Int, false, int(3)),
        "TINYINT" if declared == Some(1) => (ColType::Bool, false, int(1)),
        "TINYINT" => (ColType::Int, false, int(1)),
        "VARCHAR" | "CHARACTER VARYING" | "CHAR" | "CHARACTER" => {
            let chars = declared.unwrap_or(1);
            (ColType::Text, false, Width { bytes: 4 * chars, variable: true, chars: Some(chars) })
        }
        "TEXT" | "STRING" | "LONGTEXT" | "MEDIUMTEXT" | "TINYTEXT" => {
            (ColType::Text, false, Width { bytes: 65_535, variable: true, chars: None })
        }
        "BOOLEAN" | "BOOL" => (ColType::Bool, false, int(1)),
        "TIMESTAMP" | "TIMESTAMPTZ" | "TIMESTAMP WITH TIME ZONE" | "TIMESTAMP WITHOUT TIME ZONE" => {
            (ColType::Timestamp, false, int(4))
        }
        "DOUBLE PRECISION" | "DOUBLE" | "FLOAT8" => (ColType::Float, false, int(8)),
        "FLOAT" | "REAL" | "FLOAT4" => (ColType::Float, false, int(4)),
        "NUMERIC" | "DECIMAL" | "DEC" => {
            let scale = text.split_once(',').and_then(|(_, r)| r.trim_end_matches(')').trim().parse::<u32>().ok());
            if scale.is_some_and(|s| s > 0) {
                return Err(LowerError::Unsupported(format!("{base} with a scale is not modelled: `{text}`")));
            }
            (ColType::Numeric, false, Width { bytes: 9, variable: true, chars: None })
        }
        "DATETIME" => (ColType::Timestamp, false, int(5)),
        "DATE" => (ColType::Timestamp, false, int(3)),
        _ => return Err(LowerError::Unsupported(format!("unsupported column type `{text}`"))),
    })
}

fn ref_action(a: &Option<ReferentialAction>) -> R<RefAction> {
    Ok(match a {
        None | Some(ReferentialAction::NoAction) => RefAction::NoAction,
        Some(ReferentialAction::Restrict) => RefAction::Restrict,
        Some(ReferentialAction::Cascade) => RefAction::Cascade,
        Some(ReferentialAction::SetNull) => RefAction::SetNull,
        Some(other) => return Err(LowerError::Unsupported(format!("unsupported referential action `{other}`"))),
    })
}

fn index_cols(table: &Table, cols: &[ast::IndexColumn]) -> R<Vec<usize>> {
    cols.iter().map(|c| column_of(table, c.column.expr.to_string().trim_matches('"').trim_matches('`'))).collect()
}

struct PendingFk {
    name: Option<String>,
    cols: Vec<String>,
    parent: ObjectName,
    parent_cols: Vec<String>,
    on_delete: Option<ReferentialAction>,
    on_update: Option<ReferentialAction>,
    /// `DEFERRABLE` and `INITIALLY DEFERRED` (PostgreSQL's, as Django declares every FK).
    deferrable: bool,
    initially_deferred: bool,
}

impl PendingFk {
    /// A foreign key of `cols` as sqlparser read it (`name`: the constraint's name, if any).
    fn new(name: Option<String>, cols: Vec<String>, fk: &ast::ForeignKeyConstraint) -> PendingFk {
        let ch = fk.characteristics.as_ref();
        let initially_deferred = ch.and_then(|c| c.initially) == Some(ast::DeferrableInitial::Deferred);
        PendingFk {
            name,
            cols,
            parent: fk.foreign_table.clone(),
            parent_cols: fk.referred_columns.iter().map(unquote).collect(),
            on_delete: fk.on_delete,
            on_update: fk.on_update,
            // INITIALLY DEFERRED implies DEFERRABLE (PostgreSQL's transformConstraintAttrs).
            deferrable: ch.and_then(|c| c.deferrable).unwrap_or(initially_deferred),
            initially_deferred,
        }
    }
}

fn create_table(catalog: &mut Catalog, ct: &ast::CreateTable, opts: SchemaOptions) -> R<()> {
    let name = ident_name(&ct.name);
    if let Some(parent) = &ct.partition_of {
        return partition::partition_of(catalog, ct, parent);
    }
    if ct.query.is_some() || ct.like.is_some() || ct.inherits.is_some() {
        return Err(LowerError::Unsupported("CREATE TABLE ... AS / LIKE / INHERITS is not supported".into()));
    }
    if catalog.table_id(&name).is_some() {
        return Err(LowerError::Exists(format!("table `{name}`")));
    }
    let mut table = Table { name: name.clone(), columns: Vec::new(), indexes: Vec::new(), fks: Vec::new() };
    let mut pk: Option<Vec<String>> = None;
    // A primary key's or unique constraint's declared name. PostgreSQL keeps it; MariaDB calls
    // every primary key `PRIMARY` and does not accept a name on a column's constraint.
    let mut pk_name: Option<String> = None;
    let mut uniques: Vec<(Option<String>, Option<String>, Vec<String>)> = Vec::new();
    let mut fks: Vec<PendingFk> = Vec::new();
    for c in &ct.columns {
        let (ty, mut serial, width) = col_type(&c.data_type)?;
        let cname = unquote(&c.name);
        let mut not_null = serial;
        for o in &c.options {
            match &o.option {
                ColumnOption::NotNull => not_null = true,
                ColumnOption::Null => {}
                ColumnOption::PrimaryKey(_) => {
                    pk = Some(vec![cname.clone()]);
                    pk_name = o.name.as_ref().map(unquote);
                    not_null = true;
                }
                ColumnOption::Unique(_) => uniques.push((None, o.name.as_ref().map(unquote), vec![cname.clone()])),
                ColumnOption::ForeignKey(fk) => {
                    fks.push(PendingFk::new(o.name.as_ref().map(unquote), vec![cname.clone()], fk))
                }
                ColumnOption::Default(_) => {}
                // PostgreSQL's identity column (`GENERATED BY DEFAULT AS IDENTITY`, Django's
                // AutoField): filled from a counter when not given, as SERIAL.
                ColumnOption::Generated { generation_expr: None, .. } => {
                    serial = true;
                    not_null = true;
                }
                other => {
                    let text = other.to_string();
                    if text.eq_ignore_ascii_case("AUTO_INCREMENT") {
                        not_null = true;
                        table.columns.push(Column {
                            name: cname.clone(),
                            ty,
                            width,
                            not_null,
                            serial: true,
                            hidden: false,
                        });
                        continue;
                    }
                    return Err(LowerError::Unsupported(format!("unsupported column option `{text}`")));
                }
            }
        }
        if table.columns.iter().any(|x| x.name == cname) {
            continue;
        }
        table.columns.push(Column { name: cname, ty, width, not_null, serial, hidden: false });
    }
    for tc in &ct.constraints {
        match tc {
            TableConstraint::PrimaryKey(p) => {
                pk = Some(p.columns.iter().map(|c| c.column.expr.to_string()).collect());
                pk_name = p.name.as_ref().map(unquote);
            }
            TableConstraint::Unique(u) => {
                let uname = u.name.as_ref().map(unquote);
                uniques.push((uname.clone(), uname, u.columns.iter().map(|c| c.column.expr.to_string()).collect()))
            }
            TableConstraint::ForeignKey(fk) => {
                fks.push(PendingFk::new(fk.name.as_ref().map(unquote), fk.columns.iter().map(unquote).collect(), fk))
            }
            TableConstraint::Index(ix) => {
                let cols = ix.columns.iter().map(|c| c.column.expr.to_string()).collect::<Vec<_>>();
                let cols = cols.iter().map(|c| column_of(&table, c)).collect::<R<Vec<_>>>()?;
                let iname = ix.name.as_ref().map(unquote).unwrap_or_else(|| table.columns[cols[0]].name.clone());
                table.indexes.push(Index {
                    pg_name: iname.clone(),
                    name: iname,
                    cols,
                    unique: false,
                    clustered: false,
                    implicit: false,
                    exprs: Vec::new(),
                    include: Vec::new(),
                });
            }
            other => return Err(LowerError::Unsupported(format!("unsupported table constraint `{other}`"))),
        }
    }
    // The clustered index: the primary key, or InnoDB's hidden row id.
    let clustered = match &pk {
        Some(cols) => {
            let cols = cols.iter().map(|c| column_of(&table, c)).collect::<R<Vec<_>>>()?;
            for &c in &cols {
                table.columns[c].not_null = true;
            }
            let pg_name = pk_name
                .clone()
                .unwrap_or_else(|| pg_object_name(&name, None, "pkey", |n| catalog.pg_name_taken(n, true)));
            Index {
                name: "PRIMARY".into(),
                pg_name,
                cols,
                unique: true,
                clustered: true,
                implicit: false,
                exprs: Vec::new(),
                include: Vec::new(),
            }
        }
        None => {
            table.columns.push(Column {
                name: "DB_ROW_ID".into(),
                ty: ColType::Int,
                width: Width::fixed(6),
                not_null: true,
                serial: true,
                hidden: true,
            });
            // PostgreSQL has no such index.
            let cols = vec![table.columns.len() - 1];
            Index {
                name: "GEN_CLUST_INDEX".into(),
                pg_name: String::new(),
                cols,
                unique: true,
                clustered: true,
                implicit: false,
                exprs: Vec::new(),
                include: Vec::new(),
            }
        }
    };
    // MySQL's key order (sql_table.cc, sort_keys): primary, unique NOT NULL, other unique, the rest.
    let mut unique_ix: Vec<Index> = Vec::new();
    for (uname, pg_uname, cols) in &uniques {
        let cols = cols.iter().map(|c| column_of(&table, c)).collect::<R<Vec<_>>>()?;
        let iname = uname.clone().unwrap_or_else(|| table.columns[cols[0]].name.clone());
        // PostgreSQL names them in the order declared: columns' UNIQUE first, then the table's.
        let pg_name = pg_uname.clone().unwrap_or_else(|| {
            let names: Vec<&str> = cols.iter().map(|&c| table.columns[c].name.as_str()).collect();
            let mine = |n: &str| clustered.pg_name == n || unique_ix.iter().any(|ix| ix.pg_name == n);
            pg_object_name(&name, Some(&names.join("_")), "key", |n| catalog.pg_name_taken(n, true) || mine(n))
        });
        unique_ix.push(Index {
            name: iname,
            pg_name,
            cols,
            unique: true,
            clustered: false,
            implicit: false,
            exprs: Vec::new(),
            include: Vec::new(),
        });
    }
    unique_ix.sort_by_key(|ix| !ix.cols.iter().all(|&c| table.columns[c].not_null));
    let plain = std::mem::take(&mut table.indexes);
    table.indexes = std::iter::once(clustered).chain(unique_ix).chain(plain).collect();
    let id = catalog.tables.len();
    catalog.tables.push(table);
    if let Some(by) = &ct.partition_by {
        if opts.dialect == SqlDialect::MySql {
            catalog.tables.pop();
            return Err(LowerError::NotModelled("MariaDB's partitioned tables"));
        }
        match partition::key(catalog, id, by) {
            // DefineIndex (indexcmds.c): a unique index of a partitioned table must contain
            // the partition key.
            Ok(key)
                if catalog.tables[id].indexes.iter().any(|ix| {
                    ix.unique && !ix.cols.contains(&key.col) && !catalog.tables[id].columns[ix.cols[0]].hidden
                }) =>
            {
                catalog.tables.pop();
                return Err(LowerError::Invalid(
                    "unique constraint on partitioned table must include all partitioning columns".into(),
                ));
            }
            Ok(key) => {
                catalog.partition_keys.insert(id, key);
            }
            Err(e) => {
                catalog.tables.pop();
                return Err(e);
            }
        }
    }
    for fk in fks {
        if let Err(e) = alter::add_fk(catalog, id, fk, opts) {
            catalog.tables.pop();
            catalog.partition_keys.remove(&id);
            return Err(e);
        }
    }
    Ok(())
}

fn literal(e: &ast::Expr) -> R<Value> {
    match e {
        ast::Expr::Value(v) => match &v.value {
            ast::Value::Number(n, _) => n
                .parse::<i64>()
                .map(Value::Int)
                .map_err(|_| LowerError::Unsupported(format!("unsupported number `{n}`"))),
            ast::Value::SingleQuotedString(s) | ast::Value::DoubleQuotedString(s) => Ok(Value::Str(s.as_str().into())),
            ast::Value::Boolean(b) => Ok(Value::Bool(*b)),
            ast::Value::Null => Ok(Value::Null),
            other => Err(LowerError::Unsupported(format!("unsupported literal `{other}`"))),
        },
        ast::Expr::UnaryOp { op: UnaryOperator::Minus, expr } => match literal(expr)? {
            Value::Int(i) => Ok(Value::Int(-i)),
            _ => Err(LowerError::Unsupported(format!("unsupported literal `{e}`"))),
        },
        ast::Expr::Nested(inner) => literal(inner),
        ast::Expr::TypedString(ts) => typed_literal(e, &ts.data_type, &ts.value.value),
        _ => Err(LowerError::Unsupported(format!("unsupported expression `{e}` (only literals here)"))),
    }
}

/// `DATE '2008-01-01'`, `TIMESTAMP [WITH TIME ZONE] '...'`: kept as their text, which compares
/// as the dates do when every literal of a column is written the same way (ISO 8601, as the
/// specs write them). A DATE in ISO form prints as PostgreSQL prints it (`date_out` with DateStyle
/// ISO); a timestamp is printed as written, not as `timestamptz_out` would.
fn typed_literal(e: &ast::Expr, ty: &DataType, value: &ast::Value) -> R<Value> {
    let ty = ty.to_string().to_ascii_uppercase();
    let text = match value {
        ast::Value::SingleQuotedString(s) => s.as_str(),
        _ => return Err(LowerError::Unsupported(format!("unsupported literal `{e}`"))),
    };
    let iso_date = |d: &str| {
        let b = d.as_bytes();
        b.len() == 10 && b[4] == b'-' && b[7] == b'-' && d.chars().filter(char::is_ascii_digit).count() == 8
    };
    match ty.as_str() {
        "DATE" if iso_date(text) => Ok(Value::Str(text.into())),
        "TIMESTAMP" | "TIMESTAMPTZ" | "TIMESTAMP WITH TIME ZONE" | "TIMESTAMP WITHOUT TIME ZONE"
            if text.get(..10).is_some_and(iso_date) =>
        {
            Ok(Value::Str(text.into()))
        }
        _ => Err(LowerError::Unsupported(format!("unsupported literal `{e}`"))),
    }
}

fn is_now(e: &ast::Expr) -> bool {
    let t = e.to_string().to_ascii_uppercase();
    matches!(t.as_str(), "CURRENT_TIMESTAMP" | "NOW()" | "CURRENT_TIMESTAMP()" | "LOCALTIMESTAMP" | "CURRENT_DATE")
}

fn expr(table: &Table, e: &ast::Expr) -> R<Expr> {
    if is_now(e) {
        return Ok(Expr::Now);
    }
    match e {
        ast::Expr::Identifier(id) if id.value.eq_ignore_ascii_case("DEFAULT") && id.quote_style.is_none() => {
            Ok(Expr::Default)
        }
        ast::Expr::BinaryOp { left, op: op @ (BinaryOperator::Plus | BinaryOperator::Minus), right } => {
            let col = match &**left {
                ast::Expr::Identifier(id) => column_of(table, &id.value)?,
                _ => return Err(LowerError::Unsupported(format!("unsupported expression `{e}`"))),
            };
            let Value::Int(n) = literal(right)? else {
                return Err(LowerError::Unsupported(format!("unsupported expression `{e}`")));
            };
            Ok(Expr::ColPlus(col, if *op == BinaryOperator::Minus { -n } else { n }))
        }
        ast::Expr::Identifier(id) => Ok(Expr::ColPlus(column_of(table, &id.value)?, 0)),
        ast::Expr::BinaryOp { left, op: BinaryOperator::StringConcat, right } => {
            Ok(Expr::Concat(Box::new(expr(table, left)?), Box::new(expr(table, right)?)))
        }
        ast::Expr::Nested(inner) => expr(table, inner),
        ast::Expr::Function(f) => {
            let name = ident_name(&f.name).to_ascii_lowercase();
            let arg = match &f.args {
                ast::FunctionArguments::List(l) if l.args.len() == 1 => match &l.args[0] {
                    ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(ast::Expr::Identifier(id))) => {
                        Some(column_of(table, &id.value)?)
                    }
                    _ => None,
                },
                _ => None,
            };
            match (name.as_str(), arg) {
                ("lower", Some(c)) => Ok(Expr::Case(c, false)),
                ("upper", Some(c)) => Ok(Expr::Case(c, true)),
                _ => Err(LowerError::Unsupported(format!(
                    "unsupported function call `{e}` (lower(col) and upper(col) are supported)"
                ))),
            }
        }
        _ => literal(e).map(Expr::Lit),
    }
}

fn column_ref(table: &Table, e: &ast::Expr) -> Option<R<usize>> {
    match e {
        ast::Expr::Identifier(id) => Some(column_of(table, &id.value)),
        ast::Expr::CompoundIdentifier(ids) => ids.last().map(|id| column_of(table, &id.value)),
        _ => None,
    }
}

fn flip(op: CmpOp) -> CmpOp {
    match op {
        CmpOp::Lt => CmpOp::Gt,
        CmpOp::Le => CmpOp::Ge,
        CmpOp::Gt => CmpOp::Lt,
        CmpOp::Ge => CmpOp::Le,
        o => o,
    }
}

/// Where a subquery may appear in a WHERE clause: in a DELETE (bound against the catalog), or
/// nowhere (the statement kind is named in the error).
#[derive(Clone, Copy)]
enum Subqueries<'a> {
    Allowed(&'a Catalog),
    Denied(&'static str),
}

/// `col NOT IN (SELECT pcol FROM ptable)`: an uncorrelated single-column subquery over one table,
/// without WHERE, GROUP BY, DISTINCT, ORDER BY, LIMIT or a locking clause. `pcol` must lead an
/// index of `ptable` (the engines look values up in it).
fn not_in_select(catalog: &Catalog, col: usize, q: &ast::Query) -> R<Cond> {
    let shape = "expected `col NOT IN (SELECT column FROM table)`";
    let SetExpr::Select(s) = &*q.body else {
        return Err(LowerError::Unsupported(format!("unsupported subquery `{q}` ({shape})")));
    };
    if q.with.is_some() || q.order_by.is_some() || q.limit_clause.is_some() || q.fetch.is_some() || !q.locks.is_empty()
    {
        return Err(LowerError::Unsupported(format!(
            "WITH, ORDER BY, LIMIT, FETCH and locking clauses are not supported in a subquery: `{q}`"
        )));
    }
    if s.distinct.is_some() || s.having.is_some() || s.group_by != ast::GroupByExpr::Expressions(vec![], vec![]) {
        return Err(LowerError::Unsupported(format!(
            "DISTINCT, GROUP BY and HAVING are not supported in a subquery: `{q}`"
        )));
    }
    if s.selection.is_some() {
        return Err(LowerError::Unsupported(format!(
            "a WHERE inside the subquery is not supported (correlated or filtered): `{q}`"
        )));
    }
    let table = single_table(catalog, &s.from)?;
    let t = &catalog.tables[table];
    let pcol = match s.projection.as_slice() {
        [SelectItem::UnnamedExpr(e)] => column_ref(t, e).unwrap_or_else(|| {
            Err(LowerError::Unsupported(format!("the subquery must select one column, not `{e}`")))
        })?,
        _ => return Err(LowerError::Invalid(format!("the subquery must select exactly one column: `{q}`"))),
    };
    if !t.indexes.iter().any(|ix| ix.cols.first() == Some(&pcol)) {
        return Err(LowerError::Unsupported(format!(
            "the subquery column `{}.{}` must lead an index (the engines look each value up in it)",
            t.name, t.columns[pcol].name
        )));
    }
    Ok(Cond::NotInSelect { col, table, pcol })
}

fn conds(sub: Subqueries, table: &Table, e: &ast::Expr, out: &mut Filter) -> R<()> {
    let unsupported = || {
        LowerError::Unsupported(format!("unsupported WHERE condition `{e}` (use col = literal, <, <=, >, >=, <>, col % n = literal, [NOT] IN, IS [NOT] NULL, BETWEEN, joined by AND; in a DELETE also col NOT IN (SELECT col FROM table))"))
    };
    match e {
        ast::Expr::Nested(inner) => conds(sub, table, inner, out),
        ast::Expr::BinaryOp { left, op: BinaryOperator::And, right } => {
            conds(sub, table, left, out)?;
            conds(sub, table, right, out)
        }
        ast::Expr::BinaryOp { left, op, right } => {
            let op = match op {
                BinaryOperator::Eq => CmpOp::Eq,
                BinaryOperator::NotEq => CmpOp::Ne,
                BinaryOperator::Lt => CmpOp::Lt,
                BinaryOperator::LtEq => CmpOp::Le,
                BinaryOperator::Gt => CmpOp::Gt,
                BinaryOperator::GtEq => CmpOp::Ge,
                _ => return Err(unsupported()),
            };
            if let ast::Expr::BinaryOp { left: col, op: BinaryOperator::Modulo, right: d } = left.as_ref() {
                let (Some(col), Value::Int(d)) = (column_ref(table, col), literal(d)?) else {
                    return Err(unsupported());
                };
                if d == 0 {
                    return Err(LowerError::Invalid("division by zero".into()));
                }
                out.conds.push(Cond::Mod(col?, d, op, literal(right)?));
            } else if let Some(col) = column_ref(table, left) {
                out.conds.push(Cond::Cmp(col?, op, literal(right)?));
            } else if let Some(col) = column_ref(table, right) {
                out.conds.push(Cond::Cmp(col?, flip(op), literal(left)?));
            } else {
                return Err(unsupported());
            }
            Ok(())
        }
        ast::Expr::InList { expr, list, negated } => {
            let col = column_ref(table, expr).ok_or_else(unsupported)??;
            let list = list.iter().map(literal).collect::<R<Vec<_>>>()?;
            out.conds.push(if *negated { Cond::NotIn(col, list) } else { Cond::In(col, list) });
            Ok(())
        }
        ast::Expr::InSubquery { expr, subquery, negated } => {
            let col = column_ref(table, expr).ok_or_else(unsupported)??;
            match (sub, negated) {
                (_, false) => Err(LowerError::Unsupported(format!(
                    "`{e}`: only NOT IN (SELECT ...) is supported, not IN (SELECT ...)"
                ))),
                (Subqueries::Denied(kind), true) => Err(LowerError::Unsupported(format!(
                    "`{e}`: NOT IN (SELECT ...) is supported in DELETE only, not in {kind}"
                ))),
                (Subqueries::Allowed(catalog), true) => {
                    out.conds.push(not_in_select(catalog, col, subquery)?);
                    Ok(())
                }
            }
        }
        ast::Expr::IsNotNull(inner) if advisory::call(inner).is_some() => {
            out.advisory.push(advisory::call(inner).expect("checked")?);
            Ok(())
        }
        ast::Expr::IsNull(inner) | ast::Expr::IsNotNull(inner) => {
            let col = column_ref(table, inner).ok_or_else(unsupported)??;
            out.conds.push(Cond::IsNull(col, matches!(e, ast::Expr::IsNull(_))));
            Ok(())
        }
        ast::Expr::Between { expr, negated: false, low, high } => {
            let col = column_ref(table, expr).ok_or_else(unsupported)??;
            out.conds.push(Cond::Cmp(col, CmpOp::Ge, literal(low)?));
            out.conds.push(Cond::Cmp(col, CmpOp::Le, literal(high)?));
            Ok(())
        }
        _ => Err(unsupported()),
    }
}

fn filter(sub: Subqueries, table: &Table, selection: &Option<ast::Expr>) -> R<Filter> {
    let mut out = Filter::default();
    if let Some(e) = selection {
        conds(sub, table, e, &mut out)?;
    }
    Ok(out)
}

/// The bound of the partition a single-table FROM names (empty for a table): a scan of a
/// partition sees the rows of its partitioned table that the bound admits.
fn partition_conds(catalog: &Catalog, from: &[ast::TableWithJoins]) -> Vec<Cond> {
    match from {
        [twj] => match &twj.relation {
            TableFactor::Table { name, .. } => {
                // A table attached as a partition keeps its own name as a table (see `attach`).
                let n = ident_name(name);
                let own = catalog.tables.iter().any(|t| t.name.eq_ignore_ascii_case(&n));
                catalog.partition(&n).filter(|_| !own).map(|p| p.bound.clone()).unwrap_or_default()
            }
            _ => Vec::new(),
        },
        _ => Vec::new(),
    }
}

fn single_table(catalog: &Catalog, from: &[ast::TableWithJoins]) -> R<TableId> {
    match from {
        [twj] if twj.joins.is_empty() => match &twj.relation {
            TableFactor::Table { name, .. } => table_of(catalog, name),
            other => Err(LowerError::Unsupported(format!("unsupported FROM item `{other}`"))),
        },
        [] => Err(LowerError::Unsupported(
            "a SELECT without FROM (functions such as pg_advisory_lock, expressions) is not supported".into(),
        )),
        _ => Err(LowerError::Unsupported("only single-table statements are supported (no joins)".into())),
    }
}

/// `SET CONSTRAINTS {ALL | name [, ...]} {DEFERRED | IMMEDIATE}` (PostgreSQL's "SET
/// CONSTRAINTS"; sqlparser does not parse it), or None when `text` is another statement. MariaDB
/// has no deferrable constraints, so its dialect refuses it.
pub(crate) use attach::attach_partition;
pub(crate) use inference::with_placeholders as inference_placeholders;
pub(crate) use prepare::prepared_text;
pub(crate) use sequence::statement as sequence_statement;

pub(crate) fn set_constraints(text: &str, dialect: SqlDialect) -> Option<R<Plan>> {
    let words: Vec<String> =
        text.replace(',', " , ").split_whitespace().map(|w| w.trim_end_matches(';').to_string()).collect();
    let upper: Vec<String> = words.iter().map(|w| w.to_ascii_uppercase()).collect();
    if upper.len() < 2 || upper[0] != "SET" || upper[1] != "CONSTRAINTS" {
        return None;
    }
    if dialect == SqlDialect::MySql {
        return Some(Err(LowerError::Unsupported(
            "SET CONSTRAINTS is PostgreSQL's: MariaDB has no deferrable constraints".into(),
        )));
    }
    let shape = || LowerError::Invalid("expected SET CONSTRAINTS {ALL | name, ...} {DEFERRED | IMMEDIATE}".into());
    let deferred = match upper.last().map(String::as_str) {
        Some("DEFERRED") => true,
        Some("IMMEDIATE") => false,
        _ => return Some(Err(shape())),
    };
    let list = &words[2..words.len() - 1];
    let names = match list {
        [all] if all.eq_ignore_ascii_case("ALL") => None,
        [] => return Some(Err(shape())),
        _ => Some(
            list.iter()
                .filter(|w| *w != ",")
                .map(|w| match w.strip_prefix('"').and_then(|x| x.strip_suffix('"')) {
                    Some(quoted) => quoted.to_string(),
                    None => w.to_ascii_lowercase(),
                })
                .collect(),
        ),
    };
    Some(Ok(Plan::SetConstraints { names, deferred }))
}

/// A savepoint's name as both servers compare it: an unquoted name case-insensitively (PostgreSQL
/// folds it to lower case; MariaDB compares savepoint names without regard to case).
fn savepoint_name(id: &ast::Ident) -> String {
    match id.quote_style {
        None => id.value.to_ascii_lowercase(),
        Some(_) => id.value.clone(),
    }
}

fn isolation(modes: &[TransactionMode]) -> R<Option<Isolation>> {
    let mut out = None;
    for m in modes {
        match m {
            TransactionMode::IsolationLevel(l) => {
                out = Some(match l {
                    TransactionIsolationLevel::ReadUncommitted => Isolation::ReadUncommitted,
                    TransactionIsolationLevel::ReadCommitted => Isolation::ReadCommitted,
                    TransactionIsolationLevel::RepeatableRead => Isolation::RepeatableRead,
                    TransactionIsolationLevel::Serializable => Isolation::Serializable,
                    other => return Err(LowerError::Unsupported(format!("unsupported isolation level `{other}`"))),
                })
            }
            TransactionMode::AccessMode(_) => {}
        }
    }
    Ok(out)
}

/// `LOCK TABLE` (PostgreSQL's `LockTableCommand`, lockcmds.c): ACCESS EXCLUSIVE unless a mode
/// is given. A partition named is locked by itself.
fn lock_table(catalog: &Catalog, l: &ast::Lock) -> R<Plan> {
    use ast::LockTableMode as M;
    let relation = |name: &ObjectName| {
        let n = ident_name(name);
        catalog.relation(&n).ok_or(LowerError::NoSuchTable(n))
    };
    let rels = l.tables.iter().map(|t| relation(&t.name)).collect::<R<Vec<_>>>()?;
    let mode = match l.lock_mode {
        Some(M::AccessShare) => TableLock::AccessShare,
        Some(M::RowShare) => TableLock::RowShare,
        Some(M::RowExclusive) => TableLock::RowExclusive,
        Some(M::ShareUpdateExclusive) => TableLock::ShareUpdateExclusive,
        Some(M::Share) => TableLock::Share,
        Some(M::ShareRowExclusive) => TableLock::ShareRowExclusive,
        Some(M::Exclusive) => TableLock::Exclusive,
        Some(M::AccessExclusive) | None => TableLock::AccessExclusive,
    };
    Ok(Plan::LockTable { rels, mode, nowait: l.nowait })
}

/// What a DROP TABLE statement drops (`None` for any other statement).
pub fn drop_tables(catalog: &Catalog, ast: &Ast) -> Option<DropTables> {
    let Ast::Drop { object_type: ast::ObjectType::Table, names, if_exists, .. } = ast else { return None };
    let tables = names.iter().filter_map(|n| catalog.table_id(&ident_name(n))).collect();
    Some(DropTables { tables, if_exists: *if_exists })
}

/// Lower one parsed statement. DDL changes `catalog` and returns `Plan::Ddl`.
pub fn lower(catalog: &mut Catalog, ast: &Ast, lock: Option<LockClause>, text: &str, opts: SchemaOptions) -> R<Plan> {
    if lock.is_some() && !matches!(ast, Ast::Query(_) | Ast::Prepare { .. }) {
        return Err(LowerError::Unsupported("a locking clause belongs on a SELECT".into()));
    }
    match ast {
        Ast::CreateTable(ct) => create_table(catalog, ct, opts).map(|_| Plan::Ddl),
        Ast::CreateIndex(ci) => index::create_index(catalog, ci, opts.dialect).map(|_| Plan::Ddl),
        Ast::AlterTable(at) => alter::alter_table(catalog, at, opts).map(|_| Plan::Ddl),
        Ast::Drop { object_type: ast::ObjectType::Table, names, if_exists, .. } => {
            for n in names {
                // DROP TABLE IF EXISTS of a table never created is how many specs start.
                if !if_exists || catalog.table_id(&ident_name(n)).is_some() {
                    table_of(catalog, n)?;
                }
            }
            Ok(Plan::Ddl)
        }
        Ast::Insert(ins) if matches!(&ins.table, ast::TableObject::TableName(n) if catalog.partition(&ident_name(n)).is_some_and(|p| p.attached_from.is_none())) => {
            Err(LowerError::NotModelled("INSERTs into a partition by its name (insert through the partitioned table)"))
        }
        Ast::Insert(ins) => insert::insert(catalog, ins, opts.dialect, text),
        Ast::Update(up) => {
            let table = single_table(catalog, std::slice::from_ref(&up.table))?;
            let t = &catalog.tables[table];
            if up.from.is_some() || up.returning.is_some() {
                return Err(LowerError::Unsupported("UPDATE ... FROM / RETURNING is not supported".into()));
            }
            let mut set = Vec::new();
            for a in &up.assignments {
                let ast::AssignmentTarget::ColumnName(c) = &a.target else {
                    return Err(LowerError::Unsupported("unsupported SET target".into()));
                };
                set.push((column_of(t, &ident_name(c))?, expr(t, &a.value)?));
            }
            let mut filter = filter(Subqueries::Denied("UPDATE"), t, &up.selection)?;
            let bound = partition_conds(catalog, std::slice::from_ref(&up.table));
            if !bound.is_empty()
                && set.iter().any(|(c, _)| catalog.partition_keys.get(&table).map(|k| k.col) == Some(*c))
            {
                return Err(LowerError::NotModelled("updates of the partition key through a partition's name"));
            }
            filter.conds.extend(bound);
            Ok(Plan::Update { table, set, filter })
        }
        Ast::Delete(del) => {
            let from = match &del.from {
                FromTable::WithFromKeyword(f) | FromTable::WithoutKeyword(f) => f,
            };
            if !del.tables.is_empty() || del.using.is_some() || del.returning.is_some() {
                return Err(LowerError::Unsupported("multi-table DELETE / USING / RETURNING are not supported".into()));
            }
            let table = single_table(catalog, from)?;
            let sub = Subqueries::Allowed(catalog);
            let mut filter = filter(sub, &catalog.tables[table], &del.selection)?;
            filter.conds.extend(partition_conds(catalog, from));
            Ok(Plan::Delete { table, filter })
        }
        Ast::Query(q) => select::select(catalog, q, lock),
        Ast::Prepare { name, data_types, statement } => {
            prepare::prepare(catalog, name, data_types, statement, lock, text, opts)
        }
        Ast::Execute { name: Some(name), parameters, immediate: false, into, using, .. }
            if parameters.is_empty() && into.is_empty() && using.is_empty() =>
        {
            Ok(prepare::execute(name))
        }
        Ast::Lock(l) => lock_table(catalog, l),
        Ast::StartTransaction { modes, .. } => Ok(Plan::Begin(isolation(modes)?)),
        Ast::Commit { chain: false, .. } => Ok(Plan::Commit),
        Ast::Rollback { chain: false, savepoint: None } => Ok(Plan::Rollback),
        Ast::Rollback { chain: false, savepoint: Some(name) } => Ok(Plan::RollbackToSavepoint(savepoint_name(name))),
        Ast::Savepoint { name } => Ok(Plan::Savepoint(savepoint_name(name))),
        Ast::ReleaseSavepoint { name } => Ok(Plan::ReleaseSavepoint(savepoint_name(name))),
        Ast::Set(ast::Set::SetTransaction { modes, .. }) => {
            let level = isolation(modes)?
                .ok_or_else(|| LowerError::Unsupported("SET TRANSACTION without an isolation level".into()))?;
            let session = text.to_ascii_uppercase().split_whitespace().nth(1) == Some("SESSION");
            Ok(Plan::SetIsolation { level, next_only: !session })
        }
        Ast::Set(ast::Set::SingleAssignment { variable, values, .. }) => {
            let value =
                values.iter().map(|v| v.to_string().trim_matches('\'').to_string()).collect::<Vec<_>>().join(",");
            let name = ident_name(variable).to_ascii_lowercase();
            if name == "transaction_isolation" || name == "tx_isolation" {
                let level = match value.to_ascii_uppercase().replace('_', "-").as_str() {
                    "READ-UNCOMMITTED" => Isolation::ReadUncommitted,
                    "READ-COMMITTED" => Isolation::ReadCommitted,
                    "REPEATABLE-READ" => Isolation::RepeatableRead,
                    "SERIALIZABLE" => Isolation::Serializable,
                    _ => return Err(LowerError::Invalid(format!("unknown isolation level `{value}`"))),
                };
                return Ok(Plan::SetIsolation { level, next_only: false });
            }
            Ok(Plan::SetVar { name, value })
        }
        Ast::Set(_) => Ok(Plan::SetVar { name: String::new(), value: String::new() }),
        other => {
            let kind = other.to_string();
            let head: String = kind.split_whitespace().take(2).collect::<Vec<_>>().join(" ");
            Err(LowerError::Unsupported(format!("unsupported statement ({head} ...)")))
        }
    }
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod partition_tests;

#[cfg(test)]
mod attach_tests;
