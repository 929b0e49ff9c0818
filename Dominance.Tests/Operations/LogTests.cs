using System.Text.Json;
using System.Text.RegularExpressions;
using Dominance.Tests.Support;

namespace Dominance.Tests.Operations;

/// <summary>The server's console log as an operator reads it: dated lines, JSON by setting, and no passwords.</summary>
public sealed partial class LogTests
{
    /// <summary>Passwords typed in every way the built-in game takes them; none may reach the log.</summary>
    private static readonly string[] s_passwords = ["Pw-create-7391", "Pw-wrong-5512", "Pw-prompt-2280", "Pw-short"];

    [Test]
    public async Task EveryLineHasItsDateAndTime()
    {
        await using ServerProcess server = ServerProcess.Start([]);
        await server.WaitUntilRunningAsync();
        await PlayAsync(server);
        server.Signal(15);
        Assert.That(await server.ExitCodeAsync(), Is.Zero, server.Output);

        string[] lines = LogLines(server.Output);
        Assert.That(lines, Has.Length.GreaterThan(5), server.Output);
        Assert.That(lines, Has.All.Match(@"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z (trce|dbug|info|warn|fail|crit): "), "every log line starts with its UTC date and time");
        Assert.That(lines, Has.Some.Contains("Dominance.Audit"), "the audit lines are in the console log");
    }

    [Test]
    public async Task TheJsonFormatterWorksBySettingAndEachLineParses()
    {
        await using ServerProcess server = ServerProcess.Start(["--Logging:Console:FormatterName=json"]);
        await server.WaitUntilRunningAsync();
        await PlayAsync(server);
        server.Signal(15);
        Assert.That(await server.ExitCodeAsync(), Is.Zero, server.Output);

        string[] lines = LogLines(server.Output);
        Assert.That(lines, Has.Length.GreaterThan(5), server.Output);
        var categories = new HashSet<string>();
        foreach (string line in lines)
        {
            using JsonDocument entry = JsonDocument.Parse(line); // throws, failing the test, on a line that is not JSON
            JsonElement root = entry.RootElement;
            Assert.That(DateTimeOffset.TryParse(root.GetProperty("Timestamp").GetString(), out _), Is.True, line);
            Assert.That(root.GetProperty("LogLevel").GetString(), Is.Not.Empty, line);
            Assert.That(root.GetProperty("Message").GetString(), Is.Not.Empty, line);
            categories.Add(root.GetProperty("Category").GetString()!);
        }

        Assert.That(categories, Does.Contain("Dominance.Audit"));
        string audit = string.Join('\n', lines.Where(l => l.Contains("\"Dominance.Audit\"", StringComparison.Ordinal)));
        Assert.That(audit, Does.Contain("\"Transport\":\"Telnet\"").And.Contain("\"Address\":\"127.0.0.1\""), "an audit entry carries its fields as JSON state");
    }

    [Test]
    public async Task PasswordsNeverAppearInTheLogEvenAtTraceLevel()
    {
        await using ServerProcess server = ServerProcess.Start(["--Logging:LogLevel:Default=Trace", "--Logging:LogLevel:Microsoft=Trace"]);
        await server.WaitUntilRunningAsync();
        await PlayAsync(server);
        server.Signal(15);
        Assert.That(await server.ExitCodeAsync(), Is.Zero, server.Output);

        Assert.That(server.Output, Does.Contain("Failed login for Carol"), "the test did type the passwords");
        foreach (string password in s_passwords)
        {
            Assert.That(server.Output, Does.Not.Contain(password), $"the log shows the password {password}");
        }
    }

    [Test]
    public async Task AFailedInputIsLoggedByItsFirstWordOnlyAndNotAtAllIfTypedWithTheEchoOff()
    {
        await using TestServer server = await TestServer.StartAsync();
        await using TelnetTestClient player = await server.TelnetAsync();
        await player.Lines.WaitForAsync("Welcome");

        await player.SendAsync("throw Pw-args-1234");
        await player.Lines.WaitForAsync("Something went wrong");
        await player.SendAsync("throwlater Pw-later-5678");
        await player.Lines.WaitForAsync("Something went wrong");
        await player.SendAsync("echooff");
        await player.SendAsync("throw");
        await player.Lines.WaitForAsync("Something went wrong");

        Assert.That(server.Log.Text, Does.Contain("Game code failed while handling throw ... from session"));
        Assert.That(server.Log.Text, Does.Contain("Game code failed while handling throwlater ... from session"));
        Assert.That(server.Log.Text, Does.Contain("Game code failed while handling (a line typed with the echo off, not logged) from session"));
        Assert.That(server.Log.Text, Does.Not.Contain("Pw-args-1234").And.Not.Contain("Pw-later-5678"));
        Assert.That(server.Log.Text, Does.Not.Contain("handling throw from session"), "the line typed with the echo off (a password prompt's answer) is not logged");
    }

    /// <summary>Creates an account, fails a login, logs in at the password prompt, and mistypes a password in the name's place.</summary>
    private static async Task PlayAsync(ServerProcess server)
    {
        await using (TelnetTestClient carol = await TelnetTestClient.ConnectAsync(server.Telnet))
        {
            await carol.Lines.WaitForAsync("for everything else.");
            await carol.SendAsync($"create Carol {s_passwords[0]}");
            await carol.Lines.WaitForAsync("Welcome, Carol.");
            await carol.SendAsync("kick Nobody");
            await carol.Lines.WaitForAsync("Nobody");
        }

        await using TelnetTestClient other = await TelnetTestClient.ConnectAsync(server.Telnet);
        await other.Lines.WaitForAsync("for everything else.");
        await other.SendAsync($"connect Carol {s_passwords[1]}");
        await other.Lines.WaitForAsync("Wrong name or password.");
        await other.SendAsync($"connect {s_passwords[3]} x");
        await other.Lines.WaitForAsync("Wrong name or password.");
        await other.SendAsync("connect Carol");
        await other.Lines.WaitForAsync("Password for Carol:");
        await other.SendAsync(s_passwords[2]);
        await other.Lines.WaitForAsync("Wrong name or password.");
        await other.SendAsync("connect Carol");
        await other.Lines.WaitForAsync("Password for Carol:");
        await other.SendAsync(s_passwords[0]);
        await other.Lines.WaitForAsync("Welcome, Carol.");
    }

    /// <summary>The log's lines: the output without the line the server prints itself when it runs.</summary>
    private static string[] LogLines(string output) =>
        [.. output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Where(l => !l.StartsWith("Dominance is running", StringComparison.Ordinal))];
}
