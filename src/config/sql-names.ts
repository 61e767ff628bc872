/**
 * Words that PostgreSQL or MySQL reserve, so a table or field with such a name would need quoting
 * everywhere (in Grafana queries too). Refusing them keeps every user's SQL plain. Sources: the
 * "reserved" columns of PostgreSQL's SQL Key Words appendix and MySQL 8's Keywords list (R).
 */
const RESERVED = new Set(
  `accessible add all alter analyse analyze and any array as asc asymmetric authorization before between bigint
  binary blob both by call cascade case cast change char character check collate collation column concurrently
  condition constraint continue convert create cross cube cume_dist current current_catalog current_date
  current_role current_schema current_time current_timestamp current_user cursor database databases day_hour
  day_microsecond day_minute day_second dec decimal declare default deferrable delayed delete dense_rank desc
  describe deterministic distinct distinctrow div do double drop dual each else elseif empty enclosed end escaped
  except exists exit explain false fetch first_value float float4 float8 for force foreign freeze from full
  fulltext function generated get grant group grouping groups having high_priority hour_microsecond hour_minute
  hour_second if ignore ilike in index infile initially inner inout insensitive insert int int1 int2 int3 int4
  int8 integer intersect interval into io_after_gtids io_before_gtids is isnull iterate join json_table key keys
  kill lag last_value lateral lead leading leave left like limit linear lines load localtime localtimestamp lock
  long longblob longtext loop low_priority master_bind master_ssl_verify_server_cert match maxvalue mediumblob
  mediumint mediumtext middleint minute_microsecond minute_second mod modifies natural not notnull
  no_write_to_binlog nth_value ntile null numeric of offset on only optimize optimizer_costs option optionally or
  order out outer outfile over overlaps partition percent_rank placing precision primary procedure purge range
  rank read reads read_write real recursive references regexp release rename repeat replace require resignal
  restrict return returning revoke right rlike row row_number rows schema schemas second_microsecond select
  sensitive separator session_user set show signal similar smallint some spatial specific sql sqlexception
  sqlstate sqlwarning sql_big_result sql_calc_found_rows sql_small_result ssl starting stored straight_join
  symmetric system table tablesample terminated then tinyblob tinyint tinytext to trailing trigger true undo
  union unique unlock unsigned update usage use user using utc_date utc_time utc_timestamp values varbinary
  varchar varcharacter variadic varying verbose virtual when where while window with write xor year_month
  zerofill`.split(/\s+/),
);

/** Columns every measurement table has already; a declared field may not take their names. */
export const BUILT_IN_COLUMNS = ['ts', 'sensor', 'msg_id'] as const;

/** Besides the built-in columns, a field may not be `time`: InfluxDB keeps it for a point's time. */
export const RESERVED_FIELD = 'time';

/** Tables the processor keeps for itself in the platform's database. */
export const RESERVED_TABLES: readonly string[] = ['myt_checkpoints', 'myt_msg_ids'];

export function isReservedWord(name: string): boolean {
  return RESERVED.has(name.toLowerCase());
}

/**
 * The name SQL stores a declared measurement or field under: lowercase (the processor's sqlName).
 * Unquoted SQL finds it in any case: PostgreSQL folds unquoted names to lowercase, and the VM's
 * MySQL runs with lower_case_table_names=1.
 */
export function sqlName(name: string): string {
  return name.toLowerCase();
}
