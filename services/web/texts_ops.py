"""The operations pages' words (Vietnamese, English), merged into ``texts.TEXTS``."""

from __future__ import annotations

OPS_TEXTS: dict[str, tuple[str, str]] = {
    "ops_link": ("Vận hành", "Operations"),
    "ops_title": ("Vận hành hệ thống", "Operations"),
    "ops_lag_tab": ("Độ trễ xử lý sự kiện", "Consumer lag"),
    "ops_dead_tab": ("Thư lỗi", "Dead letters"),
    "ops_replay_tab": ("Dựng lại số liệu", "Replay"),
    "ops_lag_intro": (
        "Mỗi bộ tiêu thụ còn bao nhiêu sự kiện chưa xử lý; bảng tự cập nhật mỗi 5 giây.",
        "How many events each consumer still has to process; the table refreshes every 5 seconds.",
    ),
    "ops_stream": ("Luồng sự kiện", "Stream"),
    "ops_last_seq": ("Số thứ tự cuối", "Last sequence"),
    "ops_messages": ("Số thông điệp", "Messages"),
    "ops_refreshed_at": ("Cập nhật lúc", "Refreshed at"),
    "ops_consumer": ("Bộ tiêu thụ", "Consumer"),
    "ops_subjects": ("Chủ đề", "Subjects"),
    "ops_lag": ("Còn chờ", "Lag"),
    "ops_pending": ("Chưa gửi", "Pending"),
    "ops_ack_pending": ("Chờ xác nhận", "Awaiting ack"),
    "ops_redelivered": ("Gửi lại", "Redelivered"),
    "ops_ack_floor": ("Đã xác nhận đến", "Ack floor"),
    "ops_not_declared": ("chưa khai báo", "not declared"),
    "ops_lag_none": ("không trễ", "up to date"),
    "ops_dead_intro": (
        "Sự kiện mà một bộ tiêu thụ không xử lý được, kèm lý do. Sau khi sửa lỗi, bấm «Xử lý lại»:"
        " chỉ bộ tiêu thụ đã lỗi chạy lại sự kiện đó.",
        "Events a consumer could not process, with the reason. After the fix, press Redrive: only the"
        " consumer that failed runs the event again.",
    ),
    "ops_dead_none": ("Không có thư lỗi nào", "No dead letters"),
    "ops_service": ("Dịch vụ", "Service"),
    "ops_subject": ("Chủ đề", "Subject"),
    "ops_reason": ("Lý do", "Reason"),
    "ops_dead_at": ("Lúc lỗi", "Failed at"),
    "ops_payload": ("Nội dung sự kiện", "Payload"),
    "ops_state": ("Trạng thái", "State"),
    "ops_redrive": ("Xử lý lại", "Redrive"),
    "ops_redriven_at": ("Đã xử lý lại lúc", "Redriven at"),
    "ops_redrive_processed": ("Đã xử lý lại thành công", "Redriven: processed"),
    "ops_redrive_already_processed": (
        "Sự kiện đã được xử lý trước đó; không cần làm gì",
        "The event had been processed meanwhile; nothing to do",
    ),
    "ops_redrive_already_redriven": ("Thư lỗi này đã được xử lý lại", "Already redriven"),
    "ops_replay_intro": (
        "Xóa và dựng lại toàn bộ bảng số liệu (chấm điểm) từ kho sự kiện của các dịch vụ."
        " Trang theo dõi tiến độ từng giai đoạn.",
        "Drop and rebuild scoring's tables from the services' event stores; the page follows each"
        " phase's progress.",
    ),
    "ops_replay_start": ("Bắt đầu dựng lại", "Start a replay"),
    "ops_replay_recent": ("Các lần dựng lại gần đây", "Recent replays"),
    "ops_replay_none": (
        "Chưa có lần dựng lại nào từ khi dịch vụ khởi động",
        "No replay since the service started",
    ),
    "ops_replay_title": ("Tiến độ dựng lại", "Replay progress"),
    "ops_replay_id": ("Mã lần dựng lại", "Replay"),
    "ops_started_by": ("Người bắt đầu", "Started by"),
    "ops_started_at": ("Bắt đầu lúc", "Started at"),
    "ops_finished_at": ("Kết thúc lúc", "Finished at"),
    "ops_replay_running": ("Đang chạy", "Running"),
    "ops_replay_done": ("Hoàn thành", "Done"),
    "ops_replay_failed": ("Thất bại", "Failed"),
    "ops_phase_read": ("Đọc kho sự kiện", "Reading the event stores"),
    "ops_phase_fold": ("Tổng hợp hồ sơ", "Folding dossiers"),
    "ops_phase_write": ("Ghi bảng số liệu", "Writing scoring's tables"),
    "ops_unit_events": ("sự kiện", "events"),
    "ops_unit_dossiers": ("hồ sơ", "dossiers"),
    "ops_unit_rows": ("dòng", "rows"),
    "ops_per_second": ("/giây", "/s"),
    "ops_left": ("còn khoảng", "about"),
    "ops_seconds": ("giây", "s"),
    "ops_result": ("Kết quả", "Result"),
    "ops_result_text": (
        "{events} sự kiện, {dossiers} hồ sơ, {figure_rows} dòng số liệu",
        "{events} events, {dossiers} dossiers, {figure_rows} figure rows",
    ),
    "ops_error": ("Lỗi", "Error"),
    "ops_read_only": (
        "Bạn xem được trang này nhưng không thực hiện thao tác (vai trò kiểm tra)",
        "You may read this page but not act on it (auditor)",
    ),
}
