package app

import "switchboard/app/store"

// recordOf is the history row of a call as it starts.
func recordOf(c Call) store.CallRecord {
	return store.CallRecord{
		ID: c.ID, Direction: string(c.Direction), Number: c.Number, Name: c.Name, Start: c.Started,
	}
}

func storeQuality(q *Quality) store.Quality {
	if q == nil {
		return store.Quality{}
	}
	return store.Quality{LossPct: q.LossPct, JitterMs: q.JitterMs, RTTMs: q.RTTMs, MOS: q.MOS}
}
