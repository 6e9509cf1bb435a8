import Custody
import Foundation
import Postgres
import TestSupport
import Testing

/// What a caller is pointed at: another office's case and files, or a confidential case of their
/// own office that is not theirs, each volume in the state its commands need.
struct Target {
  let number: String
  let atBase: String
  let out: String
  let transit: String
  let missing: String
  let item: Int64

  /// Everything that names the target; none of it may come back to the caller.
  var names: [String] { [number, atBase, out, transit, missing] }

  static func make(
    _ db: TestDatabase, _ agency: Agency, number: String, office: String, by manager: String,
    confidential: Bool, holder: String, practitioner: String?, sendTo: String
  ) throws -> Target {
    let api = CustodyAPI(try db.connect(user: agency.login(manager)))
    _ = try api.openCase(
      request: UUID(), number: number, office: office, law: "public",
      classification: confidential ? "confidential" : "restricted", childrenBorn: [], practitioner: practitioner)
    let labels = try (0..<4).map { _ in
      try api.registerFile(request: UUID(), caseNumber: number, volume: nil, kind: "file", label: nil).label ?? ""
    }
    let later = Date().addingTimeInterval(86_400)
    _ = try CustodyAPI(try db.connect(user: agency.login(holder)))
      .checkout(request: UUID(), label: labels[1], whereabouts: "court", returnBy: later)
    _ = try api.transfer(
      request: UUID(), label: labels[2], destination: sendTo, method: "hand", expectedBy: later,
      carrier: nil, reference: nil, seal: nil, courier: nil)
    _ = try api.reportMissing(request: UUID(), label: labels[3], reason: "not in the cabinet")
    let today = try db.connect().query("SELECT current_date::text").first?.decode(0, as: String.self) ?? ""
    let received = try #require(CalendarDate(iso: today))
    let item = try api.addPoliceInfo(request: UUID(), caseNumber: number, received: received)
    return Target(
      number: number, atBase: labels[0], out: labels[1], transit: labels[2], missing: labels[3],
      item: item.item ?? 0)
  }
}

@Suite("Every function staff may call keeps out of what the caller may not see")
struct CatalogueAccessTests {
  /// Refused (66 or 77) with nothing told; reads nothing of the target; or, where the caller's role
  /// decides (notify list: office managers yes, practitioners no), either.
  enum Expect { case refused, readsNothing, refusedOrReadsNothing }

  /// One call per function that a staff group role may execute, keyed by its name. `$1` is a new
  /// request id; {number}, {atBase}, {out}, {transit}, {missing} and {item} name the target.
  static let calls: [String: (Expect, String)] = [
    "office_add": (.refused, "SELECT custody.office_add($1, 'ZZ9', 'Nowhere')"),
    "staff_add": (.refused, "SELECT custody.staff_add($1, 'zz_cat', 'Zed', 'director', 'STH')"),
    "staff_deactivate": (.refused, "SELECT custody.staff_deactivate($1, '{southStaff}', 'left', true)"),
    "staff_change": (.refused, "SELECT custody.staff_change($1, '{southStaff}', 'director')"),
    "import_register": (
      .refusedOrReadsNothing,
      "SELECT cases, files, problems FROM custody.import_register(ARRAY[ROW(2, '{number}', 'STH', 'public', NULL, NULL, NULL, '{atBase}', '1', NULL, NULL, NULL, NULL, NULL, NULL)::custody.import_row], 'catalogue')"
    ),
    "case_open": (.refused, "SELECT custody.case_open($1, 'ZZ/CAT/1', 'STH', 'public')"),
    "case_allocate": (.refused, "SELECT custody.case_allocate($1, '{number}', '{me}')"),
    "case_classify": (.refused, "SELECT custody.case_classify($1, '{number}', 'restricted', 'test')"),
    "case_add_child": (.refused, "SELECT custody.case_add_child($1, '{number}', '2015-01-01')"),
    "case_end": (.refused, "SELECT custody.case_end($1, '{number}', current_date)"),
    "case_close": (.refused, "SELECT custody.case_close($1, '{number}', current_date)"),
    "case_reopen": (.refused, "SELECT custody.case_reopen($1, '{number}', 'test')"),
    // The target is out of sight: its base is unknown to the caller, and no stocktake is theirs to name.
    "stocktake_start": (
      .refused,
      "SELECT custody.stocktake_start($1, (SELECT f.base FROM custody.file f WHERE f.label = '{atBase}'))"
    ),
    "stocktake_scan": (
      .refused, "SELECT * FROM custody.stocktake_scan((SELECT max(id) FROM custody.stocktake), '{atBase}')"
    ),
    "stocktake_finish": (.refused, "SELECT custody.stocktake_finish((SELECT max(id) FROM custody.stocktake))"),
    "stocktake_summary": (
      .refused, "SELECT * FROM custody.stocktake_summary((SELECT max(id) FROM custody.stocktake))"
    ),
    "stocktake_findings": (
      .refused, "SELECT * FROM custody.stocktake_findings((SELECT max(id) FROM custody.stocktake))"
    ),
    "hold_place": (.refused, "SELECT custody.hold_place($1, '{number}', 'test')"),
    "hold_release": (.refused, "SELECT custody.hold_release($1, '{number}', 'test')"),
    "police_info_add": (.refused, "SELECT custody.police_info_add($1, '{number}', current_date)"),
    "police_info_permit": (.refused, "SELECT custody.police_info_permit($1, {item}, current_date + 400, 'REF')"),
    "police_info_destroy": (.refused, "SELECT custody.police_info_destroy($1, {item}, '{other}')"),
    "file_register": (.refused, "SELECT custody.file_register($1, '{number}')"),
    "checkout": (.refused, "SELECT custody.checkout($1, '{atBase}', 'desk', now() + interval '1 day')"),
    "extend": (.refused, "SELECT custody.extend($1, '{out}', now() + interval '2 days')"),
    "return_file": (.refused, "SELECT custody.return_file($1, '{out}')"),
    "transfer": (.refused, "SELECT custody.transfer($1, '{atBase}', '{myOffice}', 'hand', now() + interval '1 day')"),
    "receive": (.refused, "SELECT custody.receive($1, '{transit}')"),
    "cancel_transfer": (.refused, "SELECT custody.cancel_transfer($1, '{transit}', 'test')"),
    "report_missing": (.refused, "SELECT custody.report_missing($1, '{atBase}', 'test')"),
    "found": (.refused, "SELECT custody.found($1, '{missing}', '{myOffice}')"),
    "destroy": (.refused, "SELECT custody.destroy($1, '{atBase}', '{other}', 'CERT-1')"),
    "report_out": (.readsNothing, "SELECT * FROM custody.report_out()"),
    "report_overdue": (.readsNothing, "SELECT * FROM custody.report_overdue(NULL, now() + interval '2 days')"),
    "report_transit": (.readsNothing, "SELECT * FROM custody.report_transit()"),
    "report_arrivals": (.readsNothing, "SELECT * FROM custody.report_arrivals()"),
    "report_closures": (.readsNothing, "SELECT * FROM custody.report_closures()"),
    "report_destruction": (.readsNothing, "SELECT * FROM custody.report_destruction(NULL, now() + interval '100 years')"),
    "report_summary": (.readsNothing, "SELECT * FROM custody.report_summary()"),
    "report_missing_files": (.readsNothing, "SELECT * FROM custody.report_missing_files()"),
    "report_incidents": (.readsNothing, "SELECT * FROM custody.report_incidents()"),
    "notify_compose": (.refused, "SELECT * FROM custody.notify_compose(now() + interval '2 days')"),
    "notify_next": (.refused, "SELECT * FROM custody.notify_next(now() + interval '2 days')"),
    "notify_attempted": (.refused, "SELECT * FROM custody.notify_attempted(1, now(), true)"),
    "notify_list": (.refusedOrReadsNothing, "SELECT * FROM custody.notify_list()"),
    "viewer_office_logins": (.readsNothing, "SELECT custody.viewer_office_logins()"),
    "case_destruction_on": (
      .readsNothing, "SELECT c.number, custody.case_destruction_on(c) FROM custody.case_record c WHERE c.number = '{number}'"
    ),
    "require_office": (.readsNothing, "SELECT * FROM custody.require_office('STH')"),
    "require_label": (.readsNothing, "SELECT custody.require_label('{atBase}', 'label')"),
    "verify_record": (.refused, "SELECT * FROM custody.verify_record()"),
    "label_rows": (.refused, "SELECT * FROM custody.label_rows(ARRAY['{atBase}'])"),
    "install_state": (.readsNothing, "SELECT * FROM custody.install_state()"),
    "viewer_sees_all": (.readsNothing, "SELECT custody.viewer_sees_all()"),
    "sees_file": (.readsNothing, "SELECT custody.sees_file(f.id) FROM custody.file f WHERE f.label = '{atBase}'"),
    "sees_case": (.readsNothing, "SELECT custody.sees_case(c.id) FROM custody.case_record c WHERE c.number = '{number}'"),
    "viewer_office": (.readsNothing, "SELECT custody.viewer_office()"),
    "viewer_is_office_staff": (.readsNothing, "SELECT custody.viewer_is_office_staff()"),
    "session_is_owner": (.readsNothing, "SELECT custody.session_is_owner()"),
    "session_login": (.readsNothing, "SELECT custody.session_login()"),
    "local_time": (.readsNothing, "SELECT custody.local_time(now())"),
    "is_label": (.readsNothing, "SELECT custody.is_label('{atBase}')"),
    "is_office_code": (.readsNothing, "SELECT custody.is_office_code('STH')"),
    "is_login": (.readsNothing, "SELECT custody.is_login('{me}')"),
    "is_text": (.readsNothing, "SELECT custody.is_text('text')"),
    "is_email": (.readsNothing, "SELECT custody.is_email('a@example.org')"),
    "twenty_second_birthday": (.readsNothing, "SELECT custody.twenty_second_birthday('2010-01-01')"),
    "police_info_due_on": (.readsNothing, "SELECT custody.police_info_due_on('2020-01-01', NULL, NULL)"),
  ]

  @Test(
    "a practitioner on another office's and on a colleague's confidential file, an office manager on another office's: 66 or 77, nothing recorded",
    arguments: TestDatabase.Install.allCases)
  func everyFunction(install: TestDatabase.Install) throws {
    try TestDatabase.with(install: install) { db in
      let agency = try Agency.make(in: db)
      let installer = try db.connect()
      let granted = try installer.query(
        """
        SELECT DISTINCT p.proname::text
          FROM pg_proc p, unnest(ARRAY['custody_practitioner', 'custody_family_support_worker', 'custody_business_support',
                                       'custody_office_manager', 'custody_service_manager', 'custody_director']) g
         WHERE p.pronamespace = 'custody'::regnamespace AND has_function_privilege(g, p.oid, 'EXECUTE')
         ORDER BY 1
        """
      ).map { try $0.decode(0, as: String.self) }
      let uncovered = granted.filter { Self.calls[$0] == nil }
      #expect(uncovered.isEmpty, "functions staff may call with no case in this test: \(uncovered)")
      #expect(granted.count > 40, "\(granted)")

      let south = try Target.make(
        db, agency, number: "STH/CAT/1", office: "STH", by: "sam", confidential: false, holder: "hana",
        practitioner: nil, sendTo: "home:" + agency.login("hana"))
      // Confidential files are classified by a director here: North has no service manager.
      let confidential = try Target.make(
        db, agency, number: "NTH/CAT/C", office: "NTH", by: "dee", confidential: true, holder: "pip",
        practitioner: agency.login("pip"), sendTo: "STH")
      let probes: [(caller: String, office: String, target: Target)] = [
        ("pat", "NTH", south), ("pat", "NTH", confidential), ("oma", "NTH", south),
      ]
      var checked = 0
      for (caller, office, target) in probes {
        let connection = try db.connect(user: agency.login(caller))
        for name in granted {
          guard let (expect, template) = Self.calls[name] else { continue }
          let sql = template
            .replacing("{number}", with: target.number).replacing("{atBase}", with: target.atBase)
            .replacing("{out}", with: target.out).replacing("{transit}", with: target.transit)
            .replacing("{missing}", with: target.missing).replacing("{item}", with: String(target.item))
            .replacing("{me}", with: agency.login(caller)).replacing("{other}", with: agency.login("bea"))
            .replacing("{myOffice}", with: office).replacing("{southStaff}", with: agency.login("sam"))
          let before = try agency.eventCount()
          let context = "\(caller) \(name) on \(target.number): \(sql)"
          var expected = expect
          if expected == .refusedOrReadsNothing {
            expected = (try? connection.query("SELECT custody.viewer_sees_all() OR pg_has_role('custody_office_manager', 'MEMBER')")
              .first?.decode(0, as: Bool.self)) == true ? .readsNothing : .refused
          }
          switch expected {
          case .refused, .refusedOrReadsNothing:
            do {
              try connection.query(sql, sql.contains("$1") ? [UUID()] : [])
              Issue.record("accepted: \(context)")
            } catch let error as PostgresError {
              #expect(["U0002", "42501"].contains(error.sqlstate), "\(context): \(error)")
              // "no file X" names only what the caller typed; nothing of its state or holder.
              if error.sqlstate == "U0002" { #expect(error.message.hasPrefix("no "), "\(context): \(error)") }
              for hidden in ["checked out", "in transit", "missing", agency.login("hana"), agency.login("pip")] {
                #expect(!error.message.contains(hidden), "\(context) tells \(hidden): \(error.message)")
              }
            }
          case .readsNothing:
            let shown = try connection.query("SELECT row_to_json(r)::text FROM (\(sql)) r")
              .map { try $0.decode(0, as: String.self) }.joined(separator: "\n")
            for hidden in target.names {
              #expect(!shown.contains(hidden), "\(context) shows \(hidden)")
            }
          }
          #expect(try agency.eventCount() == before, "\(context) recorded something")
          checked += 1
        }
      }
      #expect(checked == 3 * granted.count)
    }
  }
}
