"""Every word the pages show, Vietnamese first, English beside it: one place to translate.

Templates call ``t("key")``; the language is Vietnamese until the English switch lands (it will
pick the ``en`` column). Messages of the services' errors come with both languages already.
"""

from __future__ import annotations

from services.web.texts_ops import OPS_TEXTS

TEXTS: dict[str, tuple[str, str]] = {
    # shell
    "app_name": (
        "Một cửa — Trung tâm Phục vụ hành chính công",
        "One-stop — Public Administration Service Centre",
    ),
    "sign_out": ("Đăng xuất", "Sign out"),
    "signed_in_as": ("Đăng nhập:", "Signed in as"),
    "skip_to_content": ("Đến nội dung chính", "Skip to main content"),
    # log-in
    "login_title": ("Đăng nhập", "Sign in"),
    "username": ("Tên đăng nhập", "User name"),
    "password": ("Mật khẩu", "Password"),
    "login_button": ("Đăng nhập", "Sign in"),
    "login_failed": ("Sai tên đăng nhập hoặc mật khẩu", "Unknown user or wrong password"),
    "identity_unavailable": (
        "Không kết nối được máy chủ xác thực, vui lòng thử lại sau",
        "The identity provider cannot be reached; try again later",
    ),
    # roles' homes
    "home_title": ("Trang chính", "Home"),
    "home_no_page": (
        "Vai trò của bạn chưa có trang làm việc trên web; hãy dùng API",
        "Your role has no page on the web yet; use the API",
    ),
    # front desk
    "desk_title": ("Tiếp nhận hồ sơ", "Receive a dossier"),
    "procedure": ("Thủ tục hành chính (tên hoặc mã)", "Procedure (name or code)"),
    "procedure_code": ("Mã thủ tục", "Procedure code"),
    "procedure_hint": ("Gõ vài chữ của tên hoặc mã, chọn bằng phím mũi tên", "Type part of the name or code"),
    "cccd_line": ("Quét mã QR trên CCCD", "Scan the QR code of the ID card"),
    "cccd_hint": (
        "Máy quét gõ cả dòng rồi Enter; các ô bên dưới được điền tự động",
        "The scanner types the whole line, then Enter; the fields below are filled in",
    ),
    "cccd_filled": ("Đã điền thông tin từ CCCD", "Filled in from the ID card"),
    "applicant": ("Người nộp hồ sơ", "Applicant"),
    "full_name": ("Họ và tên", "Full name"),
    "citizen_id": ("Số CCCD / định danh cá nhân (12 chữ số)", "Citizen ID (12 digits)"),
    "date_of_birth": ("Ngày sinh (dd/mm/yyyy)", "Date of birth (dd/mm/yyyy)"),
    "address": ("Địa chỉ", "Address"),
    "phone": ("Số điện thoại", "Phone"),
    "email": ("Thư điện tử", "E-mail"),
    "channel": ("Kênh nộp", "Channel"),
    "channel_1": ("Trực tiếp tại bộ phận một cửa", "In person at the desk"),
    "channel_3": ("Qua dịch vụ bưu chính công ích", "Through the public postal service"),
    "postal_return": ("Trả kết quả qua bưu chính", "Return the result by post"),
    "receive_button": ("Tiếp nhận (Enter)", "Receive (Enter)"),
    "received_ok": ("Đã tiếp nhận hồ sơ", "Dossier received"),
    # receipt (form 01)
    "print": ("In giấy tiếp nhận", "Print the receipt"),
    "new_dossier": ("Tiếp nhận hồ sơ khác", "Receive another dossier"),
    "receipt_title": ("GIẤY TIẾP NHẬN HỒ SƠ VÀ HẸN TRẢ KẾT QUẢ", "RECEIPT AND APPOINTMENT SLIP"),
    "receipt_form_no": ("Mẫu số 01", "Form 01"),
    "motto_1": ("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", "SOCIALIST REPUBLIC OF VIET NAM"),
    "motto_2": ("Độc lập - Tự do - Hạnh phúc", "Independence - Freedom - Happiness"),
    "dossier_code": ("Mã hồ sơ", "Dossier code"),
    "received_at": ("Tiếp nhận lúc", "Received at"),
    "appointment": ("Hẹn trả kết quả", "Appointment"),
    "legal_time": ("Thời hạn giải quyết", "Legal time"),
    "collect_at": ("Nhận kết quả tại", "Collect the result at"),
    "collect_desk": ("Bộ phận Một cửa nơi nộp hồ sơ", "The desk where the dossier was handed in"),
    "collect_post": ("Địa chỉ người nộp, qua dịch vụ bưu chính công ích", "The applicant's address, by post"),
    "tracking_qr": (
        "Quét mã QR để tra cứu tình trạng hồ sơ",
        "Scan the QR code to follow the dossier",
    ),
    "tracking_secret_missing": (
        "Mã tra cứu chỉ in được trong phiên tiếp nhận hồ sơ",
        "The tracking code can only be printed in the session that received the dossier",
    ),
    "applicant_signature": ("NGƯỜI NỘP HỒ SƠ", "APPLICANT"),
    "officer_signature": ("NGƯỜI TIẾP NHẬN HỒ SƠ", "RECEIVING OFFICER"),
    "sign_hint": ("(Ký và ghi rõ họ tên)", "(signature and full name)"),
    "backdated": ("Nhập muộn; lý do:", "Entered late; reason:"),
    # citizen tracking
    "track_title": ("Tra cứu hồ sơ", "Follow your dossier"),
    "status": ("Tình trạng", "Status"),
    "why_date": ("Cách tính ngày hẹn", "How the date was counted"),
    "steps": ("Các bước", "Steps"),
    "track_not_found": (
        "Không tìm thấy hồ sơ với mã hồ sơ và mã tra cứu này",
        "No dossier with this code and tracking secret",
    ),
    "track_not_yet": (
        "Hồ sơ đã được tiếp nhận và đang được chuyển đến cơ quan giải quyết; vui lòng thử lại sau ít phút",
        "The dossier was received and is on its way to the department; try again in a few minutes",
    ),
    "paused": ("Tạm dừng, chờ bổ sung hồ sơ", "Paused, waiting for the missing documents"),
    # officer
    "queues_title": ("Hồ sơ của đơn vị", "The department's dossiers"),
    "queue_due-today": ("Đến hạn hôm nay", "Due today"),
    "queue_overdue": ("Quá hạn", "Overdue"),
    "queue_awaiting-supplement": ("Chờ bổ sung", "Awaiting supplement"),
    "queue_awaiting-leadership": ("Chờ lãnh đạo", "Awaiting leadership"),
    "queue_active": ("Đang giải quyết", "In progress"),
    "queue_empty": ("Không có hồ sơ", "No dossiers"),
    "due_at": ("Hạn giải quyết", "Due"),
    "state": ("Trạng thái", "State"),
    "officer": ("Cán bộ", "Officer"),
    "dossier_title": ("Hồ sơ", "Dossier"),
    "clock": ("Thời hạn", "Clock"),
    "time_left": ("Thời gian còn lại", "Time left"),
    "history": ("Lịch sử", "History"),
    "when": ("Thời điểm", "When"),
    "who": ("Người thực hiện", "Who"),
    "what": ("Nội dung", "What"),
    "actions": ("Thao tác", "Actions"),
    "no_actions": ("Không còn thao tác nào ở trạng thái này", "No action is possible in this state"),
    "reasons": ("Lý do / ghi chú", "Reasons / note"),
    "action_assign": ("Nhận xử lý (phân công cho tôi)", "Take it (assign to me)"),
    "action_approve": ("Quyết định: chấp thuận", "Decide: approve"),
    "action_reject": ("Quyết định: từ chối", "Decide: reject"),
    "action_make_result_ready": ("Có kết quả", "Result ready"),
    "action_return_result": ("Trả kết quả tại bộ phận một cửa", "Hand the result over at the desk"),
    "action_done": ("Đã thực hiện", "Done"),
    "reject_needs_reason": ("Từ chối phải nêu lý do", "A rejection needs its reasons"),
    # leader
    "dashboard_title": ("Chỉ số phục vụ (Quyết định 766)", "Service index (Decision 766)"),
    "unit": ("Đơn vị", "Unit"),
    "points": ("Điểm", "Points"),
    "available": ("Điểm tối đa", "Out of"),
    "rank": ("Hạng", "Rank"),
    "period": ("Kỳ", "Period"),
    "period_month": ("Tháng này", "This month"),
    "period_quarter": ("Quý này", "This quarter"),
    "period_year": ("Năm nay", "This year"),
    "computed_at": ("Số liệu tính lúc", "Computed at"),
    "indicators": ("Chỉ tiêu", "Indicators"),
    "indicator_not_applicable": ("không có hồ sơ", "no dossier"),
    "indicator_not_measured": ("chưa đo được", "not measured"),
    "dashboard_link": ("Chỉ số 766", "Index 766"),
    # states
    "state_in_processing": ("Đang giải quyết", "In processing"),
    "state_awaiting_supplement": ("Chờ bổ sung", "Awaiting supplement"),
    "state_decided": ("Đã có quyết định", "Decided"),
    "state_result_ready": ("Đã có kết quả", "Result ready"),
    "state_returned": ("Đã trả kết quả", "Returned"),
    "state_stopped": ("Đã dừng / rút", "Stopped / withdrawn"),
    "state_closed": ("Đã dừng do không bổ sung", "Closed, not supplemented"),
    # errors
    "error_title": ("Không thực hiện được", "Could not be done"),
    "error_code": ("Mã lỗi", "Error code"),
    "back": ("Quay lại", "Back"),
    "csrf_failed": (
        "Biểu mẫu đã hết hạn, vui lòng tải lại trang và thử lại",
        "The form has expired; reload the page and try again",
    ),
    "not_signed_in": ("Vui lòng đăng nhập", "Please sign in"),
    "forbidden": ("Trang này không dành cho vai trò của bạn", "This page is not for your role"),
    "service_unavailable": (
        "Hệ thống đang bận hoặc không kết nối được, vui lòng thử lại",
        "The system is busy or cannot be reached; try again",
    ),
    "not_found": ("Không tìm thấy trang", "Page not found"),
    "invalid_input": ("Dữ liệu nhập chưa đúng", "The input is not valid"),
    "procedure_unknown": ("Không tìm thấy thủ tục này trong danh mục", "No such procedure in the catalogue"),
    "date_invalid": ("Ngày phải có dạng dd/mm/yyyy", "Dates are written dd/mm/yyyy"),
}

TEXTS.update(OPS_TEXTS)

LANGUAGES = ("vi", "en")


def t(key: str, lang: str = "vi") -> str:
    vi, en = TEXTS.get(key, (key, key))
    return en if lang == "en" else vi
