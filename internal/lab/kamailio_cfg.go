package lab

import (
	"strings"
	"text/template"
)

// kamailioCfg is the lab PBX. Why it looks the way it does:
//   - Local domain checks compare $rd/$fd with the configured domain as well
//     as "myself", because "myself" compares ports too: a From of
//     sip:1001@127.0.0.1 (implied port 5060) would not be local.
//   - 127.0.0.1 is never a port-less alias: with it, every Contact on
//     127.0.0.1 would look like this server and loose_route would treat
//     in-dialog requests (ACK, BYE) as strict-routed and lose them.
//   - The realm is always the configured domain, whatever host the UA puts
//     in From, so HA1 is predictable.
//   - usrloc keeps contacts in memory only: after Restart every UA has to
//     register again, which is what the re-registration tests want.
//   - PUBLISH is not challenged: pua_dialoginfo and pua_rpc inside this
//     server send their PUBLISH through the network to it (outbound_proxy).
//   - TCP and TLS clients are reached over the connection they opened
//     (fix_nated_register stores the source; set_contact_alias keeps it for
//     call dialogs; fix_nated_contact for subscriptions, whose NOTIFYs
//     presence sends itself), because UAs such as sipgo may not listen.
var kamailioCfg = template.Must(template.New("kamailio.cfg").Parse(`#!KAMAILIO
#!define DBURL "sqlite://{{.DBPath}}"
#!define LABDOMAIN "{{.Domain}}"

debug={{.Debug}}
log_stderror=yes
log_prefix="{$mt $hdr(CSeq) $ci} "
# One UDP worker: messages of a dialog are relayed in the order they
# arrive (two workers may let a BYE overtake its ACK), which scripted
# peers such as sipp require.
children=1
tcp_children=2
auto_aliases=no
{{range .Aliases}}alias="{{.}}"
{{end}}
listen=udp:127.0.0.1:{{.Port}}
listen=tcp:127.0.0.1:{{.Port}}
listen=tls:127.0.0.1:{{.TLSPort}}
enable_tls=yes
tcp_connection_lifetime=3605
tcp_accept_no_cl=yes
server_header="Server: switchboard-lab"
user_agent_header="User-Agent: switchboard-lab"

mpath="{{.ModulesDir}}"
loadmodule "db_sqlite.so"
loadmodule "jsonrpcs.so"
loadmodule "kex.so"
loadmodule "corex.so"
loadmodule "tm.so"
loadmodule "tmx.so"
loadmodule "sl.so"
loadmodule "rr.so"
loadmodule "pv.so"
loadmodule "maxfwd.so"
loadmodule "usrloc.so"
loadmodule "registrar.so"
loadmodule "textops.so"
loadmodule "textopsx.so"
loadmodule "siputils.so"
loadmodule "xlog.so"
loadmodule "sanity.so"
loadmodule "ctl.so"
loadmodule "auth.so"
loadmodule "auth_db.so"
loadmodule "nathelper.so"
loadmodule "tls.so"
{{if .Presence}}loadmodule "dialog.so"
loadmodule "presence.so"
loadmodule "presence_xml.so"
loadmodule "presence_dialoginfo.so"
loadmodule "presence_mwi.so"
loadmodule "pua.so"
loadmodule "pua_dialoginfo.so"
loadmodule "pua_rpc.so"
{{end}}
modparam("jsonrpcs", "transport", 4)
modparam("jsonrpcs", "dgram_socket", "{{.RPCSocket}}")
modparam("ctl", "binrpc", "unix:{{.CtlSocket}}")
modparam("tm", "failure_reply_mode", 3)
modparam("tm", "fr_timer", 30000)
modparam("tm", "fr_inv_timer", 120000)
modparam("rr", "enable_full_lr", 0)
modparam("rr", "append_fromtag", 1)
modparam("registrar", "method_filtering", 1)
modparam("registrar", "max_expires", {{.MaxExpires}})
modparam("registrar", "min_expires", 5)
modparam("registrar", "max_contacts", 0)
modparam("registrar", "received_avp", "$avp(RECEIVED)")
modparam("nathelper", "received_avp", "$avp(RECEIVED)")
modparam("usrloc", "db_mode", 0)
modparam("usrloc", "use_domain", 0)
modparam("auth_db", "db_url", DBURL)
modparam("auth_db", "calculate_ha1", yes)
modparam("auth_db", "password_column", "password")
modparam("auth_db", "load_credentials", "")
modparam("auth_db", "use_domain", 0)
modparam("tls", "config", "{{.TLSConfig}}")
{{if .Presence}}modparam("dialog", "dlg_flag", 4)
modparam("dialog", "track_cseq_updates", 1)
modparam("presence", "db_url", DBURL)
modparam("presence", "publ_cache", 2)
modparam("presence", "subs_db_mode", 0)
modparam("presence", "server_address", "sip:127.0.0.1:{{.Port}}")
modparam("presence_xml", "db_url", DBURL)
modparam("presence_xml", "force_active", 1)
modparam("pua", "db_url", DBURL)
modparam("pua", "db_mode", 0)
modparam("pua", "outbound_proxy", "sip:127.0.0.1:{{.Port}}")
modparam("pua_dialoginfo", "include_callid", 1)
modparam("pua_dialoginfo", "include_tags", 1)
modparam("pua_dialoginfo", "caller_confirmed", 1)
{{end}}
request_route {
	route(REQINIT);
	xlog("L_INFO", "request $rm $ru from $si:$sp/$proto\n");
	if (is_method("CANCEL")) {
		if (t_check_trans()) {
			route(RELAY);
		}
		exit;
	}
	if (!is_method("ACK")) {
		if (t_precheck_trans()) {
			t_check_trans();
			exit;
		}
		t_check_trans();
	}
	route(WITHINDLG);

	### initial requests
	route(AUTH);
	remove_hf("Route");
	if (is_method("INVITE|SUBSCRIBE")) {
		record_route();
	}
	if (is_method("INVITE") && $proto != "udp") {
		set_contact_alias();
	}
{{if .Presence}}	if (is_method("INVITE")) {
		setflag(4);
	}
{{end}}	if (!($rd == LABDOMAIN || uri == myself)) {
		# Authenticated lab users may call any SIP address, as on a PBX
		# that allows outbound SIP URI dialling; strangers may not relay.
		if (!($fd == LABDOMAIN || from_uri == myself)) {
			sl_send_reply("403", "Not relaying to foreign domains");
			exit;
		}
		route(RELAY);
		exit;
	}
	route(PRESENCE);
	route(REGISTRAR);
	if ($rU == $null) {
		sl_send_reply("484", "Address Incomplete");
		exit;
	}
	route(LOCATION);
}

route[RELAY] {
	if (is_method("INVITE|SUBSCRIBE|UPDATE")) {
		if (!t_is_set("onreply_route")) t_on_reply("MANAGE_REPLY");
	}
	if (!t_relay()) {
		sl_reply_error();
	}
	exit;
}

route[REQINIT] {
	set_reply_no_connect();
	force_rport();
	if (!mf_process_maxfwd_header("10")) {
		sl_send_reply("483", "Too Many Hops");
		exit;
	}
	if (is_method("OPTIONS") && ($rd == LABDOMAIN || uri == myself) && $rU == $null) {
		sl_send_reply("200", "Keepalive");
		exit;
	}
	if (!sanity_check("17895", "7")) {
		xlog("L_WARN", "malformed SIP request from $si:$sp\n");
		exit;
	}
}

route[WITHINDLG] {
	if (!has_totag()) return;
	if (loose_route()) {
		if (!isdsturiset()) {
			handle_ruri_alias();
		}
		if (is_method("NOTIFY")) {
			record_route();
		}
		route(RELAY);
		exit;
	}
	if (is_method("SUBSCRIBE") && ($rd == LABDOMAIN || uri == myself)) {
		route(PRESENCE);
		exit;
	}
	if (is_method("ACK")) {
		if (t_check_trans()) {
			route(RELAY);
		}
		exit;
	}
	sl_send_reply("404", "Not here");
	exit;
}

route[REGISTRAR] {
	if (!is_method("REGISTER")) return;
	fix_nated_register();
	if (!save("location")) {
		sl_reply_error();
	}
	exit;
}

route[LOCATION] {
	if (!lookup("location")) {
		$var(rc) = $rc;
		t_newtran();
		switch ($var(rc)) {
			case -1:
			case -3:
				send_reply("404", "Not Found");
				exit;
			case -2:
				send_reply("405", "Method Not Allowed");
				exit;
		}
	}
	route(RELAY);
	exit;
}

route[PRESENCE] {
	if (!is_method("PUBLISH|SUBSCRIBE")) return;
{{if .Presence}}	if (is_method("SUBSCRIBE") && $proto != "udp") {
		# NOTIFYs are sent by this server to the stored Contact: make it the
		# address of the subscriber's own connection, and let presence see it.
		fix_nated_contact();
		msg_apply_changes();
	}
	if (!t_newtran()) {
		sl_reply_error();
		exit;
	}
	if (is_method("PUBLISH")) {
		handle_publish();
	} else {
		handle_subscribe();
	}
	t_release();
	exit;
{{else}}	sl_send_reply("489", "Bad Event");
	exit;
{{end}}}

route[AUTH] {
	if (is_method("PUBLISH")) return;
	if (is_method("REGISTER") || $fd == LABDOMAIN || from_uri == myself) {
		if (!auth_check(LABDOMAIN, "subscriber", "1")) {
			auth_challenge(LABDOMAIN, "0");
			exit;
		}
		if (!is_method("REGISTER")) {
			consume_credentials();
		}
	}
}

onreply_route[MANAGE_REPLY] {
	if ($proto != "udp" && status =~ "^(18[0-9]|2[0-9][0-9])$") {
		set_contact_alias();
	}
}
`))

type kamailioCfgData struct {
	DBPath, Domain                  string
	Debug                           int
	Aliases                         []string
	Port, TLSPort                   int
	ModulesDir                      string
	RPCSocket, CtlSocket, TLSConfig string
	Presence                        bool
	MaxExpires                      int
}

func renderKamailioCfg(d kamailioCfgData) (string, error) {
	var b strings.Builder
	if err := kamailioCfg.Execute(&b, d); err != nil {
		return "", err
	}
	return b.String(), nil
}
