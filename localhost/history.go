package localhost

import "switchboard/app/store"

// The call log is the store's: the API passes its query and page through
// unchanged, so the JSON the widget reads is store.CallRecord's.
type (
	// HistoryQuery selects call records (search, direction, disposition,
	// start time range, page).
	HistoryQuery = store.Query
	// HistoryPage is one page of records, newest first, and the total.
	HistoryPage = store.Page
	// HistoryRecord is one finished call.
	HistoryRecord = store.CallRecord
)
