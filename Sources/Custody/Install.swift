import Postgres

/// Who owns the custody engine, and whether row-level security binds it.
///
/// Row-level security binds a SECURITY DEFINER function only when the function's owner is subject
/// to it, so the schema, its tables and the custody API must belong to a role that is neither a
/// superuser nor BYPASSRLS. `migrate` sees to that whoever runs it; every other command checks it.
public struct InstallState: Sendable, Equatable {
  /// The role that owns the custody schema; nil before the first migration.
  public let owner: String?
  /// What makes the install unsound; empty when it is sound.
  public let problems: [String]

  public var sound: Bool { owner != nil && problems.isEmpty }

  /// The role `migrate` creates to own the engine when the role running it bypasses row-level security.
  public static let engineRole = "custody_owner"

  /// Reads the state from `custody.install_state()`.
  public static func load(_ connection: Connection) throws -> InstallState {
    let rows = try connection.query(
      "SELECT s.owner, p FROM custody.install_state() s LEFT JOIN LATERAL unnest(s.problems) p ON true")
    let owner: String? = try rows.first?.decodeIfPresent(0)
    let problems: [String] = try rows.compactMap { try $0.decodeIfPresent(1) }
    return InstallState(owner: owner, problems: problems)
  }

  /// The state, or nil when the database has no `custody.install_state()` yet (not migrated).
  public static func loadIfMigrated(_ connection: Connection) throws -> InstallState? {
    let present = try connection.query("SELECT to_regprocedure('custody.install_state()') IS NOT NULL")
    return try present.first?.decode(0, as: Bool.self) == true ? load(connection) : nil
  }

  /// Refuses to go on with an unsound install (exit 78).
  public func requireSound() throws {
    guard !sound else { return }
    let first = problems.first ?? "the custody schema has no owner"
    let more = problems.count > 1 ? " (and \(problems.count - 1) more)" : ""
    throw CustodyError.configuration(
      "this custody install is not sound: \(first)\(more)",
      hint: "run 'custody migrate' as a superuser or the database owner to repair it; "
        + "'custody migrate --status' lists every problem")
  }

  /// Hands the custody schema and everything in it to a role that row-level security binds: the
  /// schema's owner when it is such a role, else the role running migrate when it is, else
  /// `custody_owner`, created for the purpose (NOLOGIN, CREATEROLE for `staff add`). Policies
  /// that named a role which bypasses row-level security name the new owner instead. Runs inside
  /// each migration's transaction, and on its own when nothing is pending, so that a database
  /// migrated by a superuser is repaired by the next `migrate`.
  public static func settle(_ connection: Connection) throws {
    do {
      try connection.executeTrustedScript(settleScript)
    } catch let error as PostgresError where error.kind == .server {
      throw CustodyError.configuration(
        "cannot hand the custody schema to a role that row-level security binds: \(error.message)",
        hint: "run 'custody migrate' as a superuser, or have one run: CREATE ROLE \(engineRole) NOLOGIN CREATEROLE; "
          + "GRANT \(engineRole) TO <the role that migrates>")
    }
  }

  static let settleScript = """
    DO $settle$
    DECLARE
      old_owner pg_catalog.pg_roles;
      runner pg_catalog.pg_roles;
      target name;
      target_oid oid;
      engine oid;
      item record;
    BEGIN
      SELECT r.* INTO old_owner
        FROM pg_catalog.pg_namespace n JOIN pg_catalog.pg_roles r ON r.oid = n.nspowner
       WHERE n.nspname = 'custody';
      IF NOT FOUND THEN
        RETURN;
      END IF;
      engine := (SELECT n.oid FROM pg_catalog.pg_namespace n WHERE n.nspname = 'custody');
      SELECT r.* INTO runner FROM pg_catalog.pg_roles r WHERE r.rolname = current_user;
      IF NOT (old_owner.rolsuper OR old_owner.rolbypassrls) THEN
        target := old_owner.rolname;
      ELSIF NOT (runner.rolsuper OR runner.rolbypassrls) THEN
        target := runner.rolname;
      ELSE
        target := '\(engineRole)';
        IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles r WHERE r.rolname = target) THEN
          BEGIN
            EXECUTE format('CREATE ROLE %I NOLOGIN NOSUPERUSER NOBYPASSRLS CREATEROLE', target);
          EXCEPTION WHEN duplicate_object OR unique_violation THEN
            NULL; -- created meanwhile for another database of the cluster
          END;
        ELSIF EXISTS (SELECT FROM pg_catalog.pg_roles r
                       WHERE r.rolname = target AND (r.rolsuper OR r.rolbypassrls)) THEN
          RAISE EXCEPTION 'the role % bypasses row-level security, so it cannot own the custody schema', target;
        END IF;
        IF NOT pg_catalog.pg_has_role(current_user, target, 'MEMBER') THEN
          EXECUTE format('GRANT %I TO %I', target, current_user);
        END IF;
      END IF;
      target_oid := (SELECT r.oid FROM pg_catalog.pg_roles r WHERE r.rolname = target);

      IF old_owner.oid <> target_oid THEN
        EXECUTE format('ALTER SCHEMA custody OWNER TO %I', target);
      END IF;
      -- Tables take their indexes, identity sequences and row types with them.
      FOR item IN
        SELECT c.oid::regclass AS object, c.relkind
          FROM pg_catalog.pg_class c
         WHERE c.relnamespace = engine AND c.relowner <> target_oid
           AND (c.relkind IN ('r', 'p', 'v', 'm', 'f', 'c')
                OR (c.relkind = 'S' AND NOT EXISTS (
                      SELECT FROM pg_catalog.pg_depend d
                       WHERE d.classid = 'pg_catalog.pg_class'::regclass AND d.objid = c.oid
                         AND d.deptype IN ('a', 'i'))))
      LOOP
        EXECUTE format('ALTER %s %s OWNER TO %I',
          CASE item.relkind WHEN 'v' THEN 'VIEW' WHEN 'm' THEN 'MATERIALIZED VIEW' WHEN 'S' THEN 'SEQUENCE'
                            WHEN 'f' THEN 'FOREIGN TABLE' WHEN 'c' THEN 'TYPE' ELSE 'TABLE' END,
          item.object, target);
      END LOOP;
      FOR item IN
        SELECT t.oid::regtype AS object, t.typtype
          FROM pg_catalog.pg_type t
         WHERE t.typnamespace = engine AND t.typowner <> target_oid AND t.typtype IN ('d', 'e')
      LOOP
        EXECUTE format('ALTER %s %s OWNER TO %I',
          CASE item.typtype WHEN 'd' THEN 'DOMAIN' ELSE 'TYPE' END, item.object, target);
      END LOOP;
      FOR item IN
        SELECT p.oid::regprocedure AS object
          FROM pg_catalog.pg_proc p
         WHERE p.pronamespace = engine AND p.proowner <> target_oid
      LOOP
        EXECUTE format('ALTER ROUTINE %s OWNER TO %I', item.object, target);
      END LOOP;
      -- The owner's own policies (its writes, the tally's reads) follow the owner; engine/ writes
      -- them TO CURRENT_USER, the role running migrate.
      FOR item IN
        SELECT p.polname, p.polrelid::regclass AS object
          FROM pg_catalog.pg_policy p JOIN pg_catalog.pg_class c ON c.oid = p.polrelid
         WHERE c.relnamespace = engine AND NOT (0::oid = ANY (p.polroles))
           AND EXISTS (SELECT FROM pg_catalog.pg_roles r
                        WHERE r.oid = ANY (p.polroles) AND r.oid <> target_oid
                          AND (r.rolsuper OR r.rolbypassrls OR r.oid = old_owner.oid OR r.rolname = current_user))
      LOOP
        EXECUTE format('ALTER POLICY %I ON %s TO %I', item.polname, item.object, target);
      END LOOP;
      EXECUTE format('ALTER DEFAULT PRIVILEGES FOR ROLE %I REVOKE EXECUTE ON FUNCTIONS FROM PUBLIC', target);
      REVOKE EXECUTE ON ALL FUNCTIONS IN SCHEMA custody FROM PUBLIC;
    END
    $settle$
    """
}
