using Dominance.Hosting;

return await ServerCommandLine.InvokeAsync(args);
