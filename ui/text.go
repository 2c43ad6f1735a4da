package ui

import (
	"fmt"
	"strings"
)

// Lang is a UI language.
type Lang string

const (
	En   Lang = "en"
	ZhCN Lang = "zh-CN"
)

// ParseLang maps a setting or a locale ("zh_CN.UTF-8", "zh-Hans", "en-GB")
// to a supported language; anything else is English.
func ParseLang(s string) Lang {
	s = strings.ToLower(strings.ReplaceAll(s, "_", "-"))
	if strings.HasPrefix(s, "zh") {
		return ZhCN
	}
	return En
}

// Text looks up the UI's strings in one language.
type Text struct{ Lang Lang }

// T returns the message for key, formatted with args. An unknown key
// shows as itself, so a missing translation is visible, never blank.
func (t Text) T(key string, args ...any) string {
	m := messages[key]
	s := m.en
	if t.Lang == ZhCN && m.zh != "" {
		s = m.zh
	}
	if s == "" {
		s = key
	}
	if len(args) > 0 {
		return fmt.Sprintf(s, args...)
	}
	return s
}

type msg struct{ en, zh string }

// messages is every string the native UI shows.
var messages = map[string]msg{
	"app.name": {"Switchboard", "Switchboard"},

	// Tray and status.
	"status.signedOut":     {"Not signed in", "未登录"},
	"status.connecting":    {"Connecting to %s…", "正在连接 %s…"},
	"status.error":         {"Not connected: %s", "未连接：%s"},
	"status.available":     {"%s · Available", "%s · 在线"},
	"status.away":          {"%s · Away", "%s · 离开"},
	"status.dnd":           {"%s · Do not disturb", "%s · 免打扰"},
	"status.ringing":       {"Incoming call from %s", "来电：%s"},
	"status.inCall":        {"In a call with %s", "通话中：%s"},
	"status.missed":        {"%d missed calls", "%d 个未接来电"},
	"status.missedOne":     {"1 missed call", "1 个未接来电"},
	"menu.presence":        {"Presence", "状态"},
	"presence.available":   {"Available", "在线"},
	"presence.away":        {"Away", "离开"},
	"presence.dnd":         {"Do not disturb", "免打扰"},
	"presence.dndHint":     {"Incoming calls are declined as busy", "来电将以忙线拒接"},
	"menu.openSoftphone":   {"Open softphone", "打开软电话"},
	"menu.copyChannelURL":  {"Copy channel URL", "复制渠道 URL"},
	"menu.showStatus":      {"Show status window", "显示状态窗口"},
	"menu.settings":        {"Settings…", "设置…"},
	"menu.signIn":          {"Sign in…", "登录…"},
	"menu.signOut":         {"Sign out", "退出登录"},
	"menu.quit":            {"Quit Switchboard", "退出 Switchboard"},
	"menu.answer":          {"Answer %s", "接听 %s"},
	"copied.title":         {"Channel URL copied", "渠道 URL 已复制"},
	"copied.body":          {"Paste it into the Dynamics 365 channel provider.", "请粘贴到 Dynamics 365 渠道提供程序中。"},
	"nocrm.title":          {"No Dynamics 365 organisation", "未配置 Dynamics 365 组织"},
	"nocrm.body":           {"Set [crm] url in the config file; the widget URL was copied instead.", "请在配置文件中设置 [crm] url；已改为复制小部件 URL。"},
	"window.status":        {"Switchboard", "Switchboard"},
	"status.account":       {"Extension %s on %s (%s)", "分机 %s，服务器 %s（%s）"},
	"status.noAccount":     {"Sign in to start taking calls.", "登录后即可接听电话。"},
	"status.missedCalls":   {"Missed calls: %d", "未接来电：%d"},
	"status.channelURL":    {"Channel URL", "渠道 URL"},
	"button.openSoftphone": {"Open softphone", "打开软电话"},
	"button.copy":          {"Copy", "复制"},
	"button.settings":      {"Settings", "设置"},
	"button.signIn":        {"Sign in", "登录"},
	"button.signOut":       {"Sign out", "退出登录"},

	// Sign-in window.
	"signin.title":          {"Sign in to Switchboard", "登录 Switchboard"},
	"signin.heading":        {"Sign in to your phone system", "登录您的电话系统"},
	"signin.server":         {"PBX address", "PBX 地址"},
	"signin.serverHint":     {"pbx.example.com or 192.0.2.10:5060", "pbx.example.com 或 192.0.2.10:5060"},
	"signin.transport":      {"Transport", "传输协议"},
	"signin.extension":      {"Extension or email", "分机号或邮箱"},
	"signin.extensionHint":  {"1001 or name@example.com", "1001 或 name@example.com"},
	"signin.password":       {"Password", "密码"},
	"signin.submit":         {"Sign in", "登录"},
	"signin.busy":           {"Signing in…", "正在登录…"},
	"signin.keychainNote":   {"Your password is kept in the system keychain.", "密码保存在系统钥匙串中。"},
	"signin.keychainBroken": {"The system keychain could not be read (%s). Sign in again; the password may not be remembered.", "无法读取系统钥匙串（%s）。请重新登录；密码可能不会被记住。"},
	"signin.done":           {"Signed in as %s", "已登录：%s"},
	"signin.doneBody":       {"Switchboard keeps running in the system tray.", "Switchboard 将在系统托盘中运行。"},

	"err.server.empty":     {"Enter the PBX address.", "请输入 PBX 地址。"},
	"err.server.bad":       {"This is not a host name or host:port.", "这不是有效的主机名或 主机:端口。"},
	"err.transport":        {"Choose UDP, TCP or TLS.", "请选择 UDP、TCP 或 TLS。"},
	"err.extension":        {"Enter your extension number or email.", "请输入分机号或邮箱。"},
	"err.password":         {"Enter your password.", "请输入密码。"},
	"err.auth":             {"Wrong extension or password.", "分机号或密码错误。"},
	"err.notfound":         {"The PBX does not know this extension.", "PBX 上不存在此分机。"},
	"err.unreachable":      {"The PBX does not answer. Check the address, the transport and your network.", "PBX 无响应。请检查地址、传输协议和网络。"},
	"err.unresolved":       {"This address does not resolve. Check the spelling.", "无法解析此地址。请检查拼写。"},
	"err.tls":              {"Secure connection failed: the PBX certificate is not trusted or TLS is not offered.", "安全连接失败：PBX 证书不受信任或不支持 TLS。"},
	"err.rejected":         {"The PBX refused the sign-in: %s", "PBX 拒绝登录：%s"},
	"err.keychain":         {"Signed in, but the password could not be saved in the system keychain: you will be asked again next time.", "已登录，但无法将密码保存到系统钥匙串：下次启动时需要重新输入。"},
	"err.signedOutByAuth":  {"The PBX no longer accepts your password. Sign in again.", "PBX 不再接受您的密码。请重新登录。"},
	"err.dial":             {"Could not call %s: %s", "无法呼叫 %s：%s"},
	"err.notSignedIn":      {"Sign in to call %s.", "请登录后再呼叫 %s。"},
	"err.answer":           {"Could not answer: %s", "无法接听：%s"},
	"err.settings":         {"Could not save: %s", "无法保存：%s"},
	"err.noAudio":          {"No sound system is available on this computer.", "此计算机上没有可用的声音系统。"},
	"notify.dialing.title": {"Calling %s", "正在呼叫 %s"},

	// Calls.
	"call.incoming":      {"Incoming call", "来电"},
	"call.from":          {"%s is calling", "%s 来电"},
	"call.unknown":       {"Unknown caller", "未知来电"},
	"call.answer":        {"Answer", "接听"},
	"call.decline":       {"Decline", "拒接"},
	"call.missed":        {"Missed call", "未接来电"},
	"call.missedFrom":    {"%s called you.", "%s 给您打过电话。"},
	"call.missedDND":     {"%s called while you were on do not disturb.", "%s 在您免打扰时来电。"},
	"call.waiting":       {"Call waiting", "呼叫等待"},
	"call.nameAndNumber": {"%s (%s)", "%s（%s）"},

	// Settings window.
	"settings.title":        {"Switchboard settings", "Switchboard 设置"},
	"settings.audio":        {"Audio", "音频"},
	"settings.mic":          {"Microphone", "麦克风"},
	"settings.speaker":      {"Speaker", "扬声器"},
	"settings.ringer":       {"Ringer", "振铃设备"},
	"settings.default":      {"System default", "系统默认"},
	"settings.level":        {"Input level", "输入音量"},
	"settings.test":         {"Test", "测试"},
	"settings.testing":      {"Playing…", "播放中…"},
	"settings.desktop":      {"Desktop", "桌面"},
	"settings.autostart":    {"Start Switchboard when I sign in to this computer", "登录此计算机时启动 Switchboard"},
	"settings.minimised":    {"Start minimised to the tray", "启动时最小化到托盘"},
	"settings.popup":        {"Show an answer/decline window for incoming calls", "来电时显示接听/拒接窗口"},
	"settings.language":     {"Language", "语言"},
	"settings.langSystem":   {"Same as the system", "跟随系统"},
	"settings.saved":        {"Saved", "已保存"},
	"settings.devicesError": {"Could not list the sound devices: %s", "无法列出声音设备：%s"},
}
