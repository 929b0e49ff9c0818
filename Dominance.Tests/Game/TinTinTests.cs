using System.Diagnostics;
using Dominance.Tests.Support;

namespace Dominance.Tests.Game;

/// <summary>
/// TinTin++, a real MUD client, plays the built-in game in a tmux session: it negotiates MCCP2, recognises the prompt
/// (marked by EOR), goes through the TTYPE cycle, and receives GMCP <c>Room.Info</c> after a move.
/// </summary>
[NonParallelizable]
public sealed class TinTinTests
{
    private const string TinTin = "/usr/games/tt++";

    [Test]
    public async Task TinTinNegotiatesCompressionPromptsTerminalTypeAndGetsRoomInfoAfterAMove()
    {
        if (!File.Exists(TinTin) || !File.Exists("/usr/bin/tmux"))
        {
            Prerequisite.Missing("TinTin++ and tmux are needed (Debian packages tintin++ and tmux).");
        }

        await using TestServer server = await GameServer.StartAsync();
        string folder = Directory.CreateTempSubdirectory("dominance-tintin-").FullName;
        string log = Path.Combine(folder, "events.log");
        string script = Path.Combine(folder, "play.tin");
        string tmux = "dominance-tintin-" + Environment.ProcessId;
        string[] lines =
        [
            "#config {debug telnet} {on}",
            "#event {RECEIVED PROMPT} {#line log {" + log + "} {PROMPT %1}}",
            "#event {IAC SB GMCP Room.Info IAC SE} {#line log {" + log + "} {ROOMINFO %1}}",
            "#event {IAC WILL GMCP} {#send {\\xFF\\xFD\\xC9\\};#send {\\xFF\\xFA\\xC9Core.Supports.Set [\"Room 1\",\"Char 1\"]\\xFF\\xF0\\}}",
            $"#session dom 127.0.0.1 {server.Telnet.Port}",
        ];
        await File.WriteAllLinesAsync(script, lines);
        try
        {
            await RunAsync("tmux", "new-session", "-d", "-s", tmux, "-x", "160", "-y", "50", $"{TinTin} -G {script}");
            await WaitForAsync(tmux, "for everything else", "the welcome");
            await RunAsync("tmux", "send-keys", "-t", tmux, "prompt on", "Enter");
            await RunAsync("tmux", "send-keys", "-t", tmux, "connect guest", "Enter");
            await Poll.UntilAsync(() => Logged(log, "ROOMINFO"), "GMCP Room.Info on entering the realm");
            int before = Lines(log, "ROOMINFO").Length;
            string exit = Lines(log, "ROOMINFO")[^1].Contains("\"n\"") ? "north" : Lines(log, "ROOMINFO")[^1].Contains("\"s\"") ? "south" : "east";
            await RunAsync("tmux", "send-keys", "-t", tmux, exit, "Enter");
            await Poll.UntilAsync(() => Lines(log, "ROOMINFO").Length > before, "GMCP Room.Info after the move");
            Assert.That(Lines(log, "ROOMINFO")[^1], Does.Contain("\"num\":").And.Contain("\"area\":\"The Realm\"").And.Contain("\"exits\":{"));

            // The prompt, marked by EOR, is a prompt to TinTin++.
            await Poll.UntilAsync(() => Lines(log, "PROMPT").Any(l => l.Contains("resources") && l.Contains("] >")), "a prompt TinTin++ recognised");

            // MCCP2 is on: TinTin++ says so.
            await RunAsync("tmux", "send-keys", "-t", tmux, "#info mccp", "Enter");
            await WaitForAsync(tmux, "MCCP2: TOTAL IN:", "TinTin++'s MCCP2 report");
            Assert.That(await CaptureAsync(tmux), Does.Contain("INFO MCCP2 INITIALIZED"));

            // The TTYPE cycle reached the server: the client's name, its terminal type and its MTTS flags.
            Assert.That(server.Log.Contains("TTYPE round 1: TINTIN++"), server.Log.Text);
            Assert.That(server.Log.Contains("TTYPE round 3: MTTS "), server.Log.Text);
        }
        finally
        {
            await RunAsync("tmux", "kill-session", "-t", tmux, true);
            Directory.Delete(folder, recursive: true);
        }
    }

    private static bool Logged(string log, string prefix) => Lines(log, prefix).Length > 0;

    private static string[] Lines(string log, string prefix) =>
        File.Exists(log) ? [.. File.ReadAllLines(log).Where(l => l.StartsWith(prefix, StringComparison.Ordinal))] : [];

    private static async Task WaitForAsync(string tmux, string text, string what)
    {
        string screen = "";
        await Poll.UntilAsync(() =>
        {
            screen = CaptureAsync(tmux).GetAwaiter().GetResult();
            return screen.Contains(text, StringComparison.Ordinal);
        }, $"{what} on TinTin++'s screen:\n{screen}");
    }

    private static Task<string> CaptureAsync(string tmux) => RunAsync("tmux", "capture-pane", "-p", "-J", "-S", "-2000", "-t", tmux);

    private static async Task<string> RunAsync(string program, params object[] arguments)
    {
        bool ignoreFailure = arguments.Length > 0 && arguments[^1] is bool ignore && ignore;
        var start = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (object argument in arguments)
        {
            if (argument is string text)
            {
                start.ArgumentList.Add(text);
            }
        }

        using Process process = Process.Start(start)!;
        string output = await process.StandardOutput.ReadToEndAsync();
        string error = await process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        if (process.ExitCode != 0 && !ignoreFailure)
        {
            Assert.Fail($"{program} {string.Join(' ', start.ArgumentList)} failed ({process.ExitCode}): {error}");
        }

        return output;
    }
}
