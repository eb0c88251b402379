//! The token-field flags of `tokens create` and `tokens update`, made from the token
//! description (`crate::token`) rather than spelled out: a field with a flag there has one on
//! the command line, with the same help, and a count is checked against its range as it is
//! parsed.

use std::collections::BTreeMap;

use clap::builder::{PossibleValuesParser, ValueParser};
use clap::{Arg, ArgAction, ArgMatches, Args, Command, FromArgMatches};

use crate::token::{Field, Flag, Kind, Write, rules};

/// What the command line gave for one field, before it is checked and normalised.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Given {
    One(String),
    Many(Vec<String>),
    Count(u64),
    Toggle(bool),
}

/// The token fields given on the command line.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct FieldFlags {
    pub given: BTreeMap<Field, Given>,
    /// Flags naming a field fixed at creation, given to `update` (refused with a reason).
    pub fixed: Vec<&'static str>,
}

impl FieldFlags {
    pub(crate) fn is_given(&self, field: Field) -> bool {
        self.given.contains_key(&field)
    }
}

/// Which command the flags are for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Create,
    Update,
}

fn offered(field: Field, op: Op) -> bool {
    let spec = field.spec();
    match op {
        Op::Create => spec.on_create(),
        Op::Update => spec.on_update(),
    }
}

/// A flag's value parser: counts are checked against the field's range, choices offered.
fn parser(field: Field) -> ValueParser {
    match field.spec().kind {
        Kind::Count { .. } => ValueParser::new(move |text: &str| {
            rules::parse_count(field, text).map_err(|v| v.problem.describe())
        }),
        Kind::Choice(words) => PossibleValuesParser::new(words.iter().copied()).into(),
        _ => ValueParser::string(),
    }
}

fn add_args(mut command: Command, op: Op) -> Command {
    for field in Field::ALL.iter().copied() {
        let spec = field.spec();
        let fixed_on_update = op == Op::Update && spec.write == Write::Create;
        match spec.flag {
            Flag::None => {}
            Flag::Value {
                long,
                short,
                value_name,
                help,
            } if offered(field, op) || fixed_on_update => {
                let mut arg = Arg::new(long)
                    .long(long)
                    .value_name(value_name)
                    .help(help)
                    .action(ArgAction::Set)
                    .value_parser(parser(field));
                if let Some(short) = short {
                    arg = arg.short(short);
                }
                if fixed_on_update {
                    // Accepted by the parser only to say why it cannot be used.
                    arg = arg.hide(true).value_parser(ValueParser::string());
                }
                command = command.arg(arg);
            }
            Flag::Repeated {
                long,
                value_name,
                help,
            } if offered(field, op) => {
                command = command.arg(
                    Arg::new(long)
                        .long(long)
                        .value_name(value_name)
                        .help(help)
                        .action(ArgAction::Append)
                        .value_parser(parser(field)),
                );
            }
            Flag::Toggle {
                on,
                on_help,
                off,
                off_help,
            } if offered(field, op) => {
                command = command
                    .arg(
                        Arg::new(on)
                            .long(on)
                            .help(on_help)
                            .action(ArgAction::SetTrue)
                            .conflicts_with(off),
                    )
                    .arg(
                        Arg::new(off)
                            .long(off)
                            .help(off_help)
                            .action(ArgAction::SetTrue),
                    );
            }
            _ => {}
        }
    }
    command
}

fn read(matches: &ArgMatches, op: Op) -> FieldFlags {
    let mut flags = FieldFlags::default();
    for field in Field::ALL.iter().copied() {
        let spec = field.spec();
        let given = match spec.flag {
            Flag::Value { long, .. } if op == Op::Update && spec.write == Write::Create => {
                if matches.contains_id(long) && matches.get_raw(long).is_some() {
                    flags.fixed.push(long);
                }
                None
            }
            Flag::Value { long, .. } if offered(field, op) => match spec.kind {
                Kind::Count { .. } => matches.get_one::<u64>(long).copied().map(Given::Count),
                _ => matches.get_one::<String>(long).cloned().map(Given::One),
            },
            Flag::Repeated { long, .. } if offered(field, op) => matches
                .get_many::<String>(long)
                .map(|items| Given::Many(items.cloned().collect())),
            Flag::Toggle { on, off, .. } if offered(field, op) => {
                if matches.get_flag(on) {
                    Some(Given::Toggle(true))
                } else if matches.get_flag(off) {
                    Some(Given::Toggle(false))
                } else {
                    None
                }
            }
            _ => None,
        };
        if let Some(given) = given {
            flags.given.insert(field, given);
        }
    }
    flags
}

/// The field flags of `tokens create`.
#[derive(Debug, Clone, Default)]
pub(crate) struct CreateFields(pub FieldFlags);

/// The field flags of `tokens update`.
#[derive(Debug, Clone, Default)]
pub(crate) struct UpdateFields(pub FieldFlags);

macro_rules! field_args {
    ($type:ident, $op:expr) => {
        impl FromArgMatches for $type {
            fn from_arg_matches(matches: &ArgMatches) -> Result<Self, clap::Error> {
                Ok($type(read(matches, $op)))
            }

            fn update_from_arg_matches(&mut self, matches: &ArgMatches) -> Result<(), clap::Error> {
                self.0 = read(matches, $op);
                Ok(())
            }
        }

        impl Args for $type {
            fn augment_args(command: Command) -> Command {
                add_args(command, $op)
            }

            fn augment_args_for_update(command: Command) -> Command {
                add_args(command, $op)
            }
        }
    };
}

field_args!(CreateFields, Op::Create);
field_args!(UpdateFields, Op::Update);
